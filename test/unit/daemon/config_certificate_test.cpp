// The `certificate` table of gdoid.conf: parsed, its files loaded with the checks --check-config
// makes, and a renewed file seen by a reload. Certificates come from a throw-away PKI
// (test/support/test_pki.*).
#include <catch2/catch.hpp>

#include "config_test_support.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/config_parser.hpp"
#include "gdoi/ike/certificate_authentication.hpp"
#include "test/support/test_pki.hpp"

using namespace gdoid::daemon;
using namespace gdoid::daemon::test;
using test_support::request;
using test_support::TestPki;

namespace {

TestPki& pki() {
    static TestPki instance("CN=config test CA");
    return instance;
}

struct Files {
    TempDir dir;
    std::string cert, key, ca;
    Files(const test_support::IssuedCertificate& issued = pki().issue(request("CN=gm1,O=Example"))) {
        cert = dir.write("gm.crt", issued.certificate_pem, 0644);
        key = dir.write("gm.key", issued.key_pem, 0600);
        ca = dir.write("ca.crt", pki().ca().certificate_pem, 0644);
    }
    std::string group(const std::string& certificate_extra = "") const {
        return "[[group]]\n"
               "name = \"wan\"\n"
               "id = 1\n"
               "servers = [\"192.0.2.1\"]\n"
               "local-address = \"192.0.2.10\"\n"
               "certificate = { file = \"" + cert + "\", private-key = { file = \"" + key +
               "\" }, ca = [\"" + ca + "\"]" + certificate_extra + " }\n"
               "wan-interface = \"eth0\"\n"
               "lan-interfaces = [\"eth1\"]\n";
    }
};

std::string first_message(const ConfigResult& result) {
    auto all = messages(result);
    return all.empty() ? std::string("(no message)") : all.front();
}

} // namespace

TEST_CASE("a certificate group loads into Phase 1 credentials", "[config][certificate]") {
    Files files;
    auto result = parse_config(files.group(", identity = \"fqdn\", fqdn = \"gm1.example.net\", "
                                           "server-identity = \"CN=ks1, O=Example\""),
                               "c.conf", test_options(files.dir));
    INFO(first_message(result));
    REQUIRE(result.ok());
    const auto& group = result.config->groups.at(0);
    REQUIRE(group.certificate);
    REQUIRE(group.certificate->credentials);
    const auto& credentials = *group.certificate->credentials;
    CHECK(credentials.certificate.subject() == "O=Example,CN=gm1");
    CHECK(credentials.identity == gdoi::ike::CertificateIdentity::fqdn);
    CHECK(credentials.fqdn == "gm1.example.net");
    CHECK(credentials.peer_identity == "CN=ks1, O=Example");
    CHECK(credentials.trust->authority_count() == 1);
    CHECK(group.psk.empty());
}

TEST_CASE("certificate settings are refused with the reason", "[config][certificate]") {
    Files files;
    auto text = files.group();
    SECTION("no authentication at all") {
        auto broken = text;
        broken.replace(broken.find("certificate = "), broken.find('\n', broken.find("certificate = ")) - broken.find("certificate = "), "");
        CHECK(first_message(parse_config(broken, "c.conf", test_options(files.dir))) ==
              "c.conf:1:1: group `wan` is missing `pre-shared-key` (or `certificate`, for "
              "authentication with RSA signatures)");
    }
    SECTION("a relative path, an empty CA list, fqdn without a name") {
        auto result = parse_config(
            "[[group]]\nname = \"wan\"\nid = 1\nservers = [\"192.0.2.1\"]\nlocal-address = "
            "\"192.0.2.10\"\ncertificate = { file = \"gm.crt\", private-key = { file = \"" +
                files.key + "\" }, ca = [], identity = \"fqdn\" }\nwan-interface = "
                            "\"eth0\"\nlan-interfaces = [\"eth1\"]\n",
            "c.conf", test_options(files.dir));
        auto all = messages(result);
        for (const auto& m : all) UNSCOPED_INFO(m);
        CHECK(all.size() == 3);
        CHECK(std::find(all.begin(), all.end(),
                        "c.conf:6:24: `certificate`: `file` must be an absolute path, not "
                        "\"gm.crt\"") != all.end());
        CHECK(std::find_if(all.begin(), all.end(), [](const std::string& m) {
                  return m.find("`ca` must name at least one certificate authority file") !=
                         std::string::npos;
              }) != all.end());
        CHECK(std::find_if(all.begin(), all.end(), [](const std::string& m) {
                  return m.find("identity = \"fqdn\" needs `fqdn`") != std::string::npos;
              }) != all.end());
    }
    SECTION("an expired certificate") {
        Files old(pki().issue(request("CN=old gm", {}, -3 * 86400, -86400)));
        CHECK_THAT(first_message(parse_config(old.group(), "c.conf", test_options(old.dir))),
                   Catch::Contains("group `wan`: certificate \"CN=old gm\" in " + old.cert +
                                   " expired on "));
    }
    SECTION("a certificate that expires within 30 days is a warning") {
        Files soon(pki().issue(request("CN=soon gm", {}, -3600, 10 * 86400)));
        auto result = parse_config(soon.group(), "c.conf", test_options(soon.dir));
        CHECK(result.ok());
        CHECK_THAT(first_message(result), Catch::Contains("certificate \"CN=soon gm\" expires on ") &&
                                              Catch::Contains(" days"));
    }
    SECTION("a server certificate from another CA") {
        TestPki other("CN=other CA");
        auto server = files.dir.write("ks.crt", other.issue(request("CN=ks1")).certificate_pem, 0644);
        CHECK_THAT(first_message(parse_config(files.group(", server-certificate = \"" + server + "\""),
                                              "c.conf", test_options(files.dir))),
                   Catch::Contains("server certificate file " + server +
                                   ": certificate \"CN=ks1\" was not issued by a configured "
                                   "certificate authority"));
    }
}

TEST_CASE("a reload sees a renewed certificate or CRL even under the same path",
          "[config][certificate]") {
    Files files;
    auto before = parse_config(files.group(), "c.conf", test_options(files.dir));
    REQUIRE(before.ok());
    CHECK(diff_configs(*before.config, *before.config).empty());
    auto renewed = pki().issue(request("CN=gm1,O=Example"));
    files.dir.write("gm.crt", renewed.certificate_pem, 0644);
    files.dir.write("gm.key", renewed.key_pem, 0600);
    auto after = parse_config(files.group(), "c.conf", test_options(files.dir));
    REQUIRE(after.ok());
    auto diff = diff_configs(*before.config, *after.config);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.summary().find("certificate") != std::string::npos);
}

TEST_CASE("the private key from a systemd credential, and a CRL file that turns on revocation "
          "checks",
          "[config][certificate]") {
    Files files;
    auto issued = pki().issue(request("CN=gm2,O=Example"));
    files.dir.write("gm.crt", issued.certificate_pem, 0644);
    files.dir.write("gm-key", issued.key_pem, 0600); // $CREDENTIALS_DIRECTORY/gm-key
    const auto crl = files.dir.write("ca.crl", pki().crl_pem({}), 0644);
    auto text = files.group(", crl = \"" + crl + "\"");
    text.replace(text.find("{ file = \"" + files.key + "\" }"),
                 std::string("{ file = \"" + files.key + "\" }").size(),
                 "{ credential = \"gm-key\" }");
    auto result = parse_config(text, "c.conf", test_options(files.dir));
    INFO(first_message(result));
    REQUIRE(result.ok());
    const auto& credentials = *result.config->groups.at(0).certificate->credentials;
    CHECK(credentials.private_key->matches(credentials.certificate));
    CHECK(credentials.trust->checks_revocation());

    files.dir.write("ca.crl", "not a CRL", 0644);
    CHECK_THAT(first_message(parse_config(text, "c.conf", test_options(files.dir))),
               Catch::Contains("CRL file " + crl + " holds no PEM CRL"));
    auto missing = text;
    missing.replace(missing.find("gm-key"), 6, "gm-nokey");
    CHECK_THAT(first_message(parse_config(missing, "c.conf", test_options(files.dir))),
               Catch::Contains("cannot open credential gm-nokey"));
}
