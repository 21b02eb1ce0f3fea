// Second opinion: every kind of message our encoder produces goes into a pcap (UDP/848) and
// through Wireshark's ISAKMP dissector (tshark 4.0). RFC-form messages must dissect without
// "Malformed" or expert errors and tshark's fields must equal ours. Where Wireshark is known to
// disagree with RFC 6407 and deployed servers, the test asserts the disagreement explicitly.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <unistd.h>

#include "gdoi/wire/message.hpp"
#include "gdoi/wire/policy_codec.hpp"
#include "pcap_writer.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

using namespace gdoi;
using namespace gdoi::wire;

namespace {

std::string run(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0) out.append(buffer, n);
    return out;
}

Header header(uint8_t exchange_type, uint32_t message_id) {
    Header h;
    h.initiator_cookie = {0xb4, 0x90, 0xd4, 0xaf, 0x40, 0x67, 0x73, 0x0a};
    h.responder_cookie = {0x28, 0x62, 0xab, 0xf2, 0x1d, 0x67, 0xb7, 0x84};
    h.exchange_type = exchange_type;
    h.message_id = message_id;
    return h;
}

TekPolicy sample_tek(uint32_t spi) {
    TekPolicy tek;
    tek.spi = spi;
    tek.selector.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.1.0.0/16"));
    tek.selector.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.2.0.0/16"));
    tek.cipher = TekCipher::aes_cbc;
    tek.cipher_key_bits = 256;
    tek.integrity = TekIntegrity::hmac_sha256;
    tek.cipher_key = SecretBytes(std::vector<uint8_t>(32, 0x11));
    tek.integrity_key = SecretBytes(std::vector<uint8_t>(32, 0x22));
    tek.lifetime = std::chrono::seconds(3600);
    return tek;
}

KekPolicy sample_kek() {
    KekPolicy kek;
    for (size_t i = 0; i < kek.spi.size(); ++i) kek.spi[i] = static_cast<uint8_t>(0xa0 + i);
    kek.cipher = KekCipher::aes_cbc;
    kek.key_bits = 128;
    kek.key = SecretBytes(std::vector<uint8_t>(16, 0x33));
    kek.iv = std::vector<uint8_t>(16, 0x44);
    kek.signature_hash = SignatureHash::sha256;
    kek.signature_key_bits = 2048;
    kek.public_key_der = std::vector<uint8_t>(40, 0x30);
    kek.lifetime = std::chrono::seconds(86400);
    kek.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.1/32"), 848);
    kek.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("239.10.1.1/32"), 848);
    return kek;
}

SaPayload phase1_sa() {
    SaPayload sa;
    Transform t;
    t.attributes = {Attribute::tv(ike_attr::encryption_algorithm, ike_encryption::aes_cbc),
                    Attribute::tv(ike_attr::key_length, 256),
                    Attribute::tv(ike_attr::hash_algorithm, ike_hash::sha2_256),
                    Attribute::tv(ike_attr::authentication_method, ike_auth::pre_shared_key),
                    Attribute::tv(ike_attr::group_description, ike_group::modp2048),
                    Attribute::tv(ike_attr::life_type, life_type::seconds),
                    Attribute::tlv_u32(ike_attr::life_duration, 86400)};
    sa.proposals = {Proposal{1, kProtoIsakmp, {}, {t}}};
    return sa;
}

struct Case {
    std::string name;
    Message message;
    EncodeContext ctx;
    std::vector<uint8_t> bytes;
};

// tshark -V output split by frame.
std::map<int, std::string> frames_of(const std::string& verbose) {
    std::map<int, std::string> out;
    std::istringstream in(verbose);
    std::string line;
    int current = 0;
    while (std::getline(in, line)) {
        if (line.rfind("Frame ", 0) == 0) current = std::atoi(line.c_str() + 6);
        out[current] += line + "\n";
    }
    return out;
}

// A real self-signed certificate (P-256), so Wireshark's X.509 dissector has valid DER to read.
std::vector<uint8_t> self_signed_certificate() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("gdoid-test-ks"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
    int length = i2d_X509(cert.get(), nullptr);
    REQUIRE(length > 0);
    std::vector<uint8_t> der(static_cast<size_t>(length));
    unsigned char* out = der.data();
    i2d_X509(cert.get(), &out);
    return der;
}

// A P-256 public key as KD's SIG_ALGORITHM_KEY carries it (DER SubjectPublicKeyInfo).
std::vector<uint8_t> p256_public_key() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    REQUIRE(key);
    unsigned char* raw = nullptr;
    int length = i2d_PUBKEY(key.get(), &raw);
    REQUIRE(length > 0);
    std::vector<uint8_t> der(raw, raw + length);
    OPENSSL_free(raw);
    return der;
}

std::string hex(std::span<const uint8_t> b) {
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

} // namespace

TEST_CASE("tshark dissects every message kind we encode the way we do", "[wire][tshark]") {
    REQUIRE(std::system("command -v tshark >/dev/null 2>&1") == 0);
    ServerQuirks rfc;
    ServerQuirks trustcore;
    trustcore.sa_tek_id_length = IdLengthWidth::two_octets;
    ServerQuirks reference;
    reference.group_id_byte_order = GroupIdByteOrder::little_endian;

    KekPolicy kek = sample_kek();
    TekPolicy tek = sample_tek(0x1a2b3c4d);
    GroupAssociatedPolicy gap{std::chrono::seconds(60), std::chrono::seconds(90), std::nullopt};

    std::vector<Case> cases;
    auto add = [&](std::string name, Header h, std::vector<Payload> payloads, ServerQuirks q) {
        Message m{h, std::move(payloads), {}};
        cases.push_back({std::move(name), std::move(m), EncodeContext{q}, {}});
    };
    std::vector<uint8_t> nonce(16, 0x5a), hash(32, 0x6b), ke(256, 0x7c), sig(256, 0x8d);

    add("mm1", header(exchange::identity_protection, 0),
        {phase1_sa(), VendorIdPayload{std::vector<uint8_t>(16, 0x9e)}}, rfc);
    add("mm3", header(exchange::identity_protection, 0), {KePayload{ke}, NoncePayload{nonce}}, rfc);
    NotifyPayload initial_contact{doi::ipsec, kProtoIsakmp,
                                  static_cast<uint16_t>(NotifyType::initial_contact),
                                  std::vector<uint8_t>(16, 0x01), {}};
    add("mm5", header(exchange::identity_protection, 0),
        {IdPayload::ipv4(IpAddress::v4(192, 0, 2, 10)), HashPayload{hash}, initial_contact}, rfc);
    add("pull1", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce}, IdPayload::group_key_id(1234)}, rfc);
    add("pull1-little-endian-group", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce},
         IdPayload::group_key_id(1234, GroupIdByteOrder::little_endian)},
        reference);
    add("pull2-kek-only", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce}, GdoiSaPayload{doi::gdoi, 0, {sa_kek_from(kek)}}},
        rfc);
    add("pull2-tek-rfc", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce}, GdoiSaPayload{doi::gdoi, 0, {sa_tek_from(tek)}}},
        rfc);
    add("pull2-tek-2-octet-id-lengths", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce},
         GdoiSaPayload{doi::gdoi, 0, {sa_tek_from(tek, trustcore)}}},
        trustcore);
    SaKekPayload reference_kek = sa_kek_from(kek);
    reference_kek.extra_reserved_octets = 2;
    add("pull2-kek-extra-octets", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce}, GdoiSaPayload{doi::gdoi, 0, {reference_kek}}}, rfc);
    add("pull2-kek-gap-tek", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, NoncePayload{nonce},
         GdoiSaPayload{doi::gdoi, 0, {sa_kek_from(kek), gap_payload_from(gap), sa_tek_from(tek)}}},
        rfc);
    add("pull3", header(exchange::groupkey_pull, 0x01020304), {HashPayload{hash}}, rfc);
    KdPayload kd;
    kd.packets.push_back(kek_key_packet_from(kek));
    kd.packets.push_back(tek_key_packet_from(tek));
    add("pull4", header(exchange::groupkey_pull, 0x01020304),
        {HashPayload{hash}, SeqPayload{7}, kd}, rfc);
    Header push = header(exchange::groupkey_push, 0);
    push.set_cookies(kek.spi);
    add("push-rekey", push,
        {SeqPayload{8}, GdoiSaPayload{doi::gdoi, 0, {sa_kek_from(kek)}}, kd,
         CertPayload{cert_encoding::x509_signature, self_signed_certificate()}, SigPayload{sig}},
        rfc);
    // An ECDSA-256 KEK (SIG_ALGORITHM 4, its EC key in KD) and its 64-octet r | s SIG.
    KekPolicy ecdsa_kek = kek;
    ecdsa_kek.signature_algorithm = SignatureAlgorithm::ecdsa_256;
    ecdsa_kek.signature_key_bits = 256;
    ecdsa_kek.public_key_der = p256_public_key();
    KdPayload ecdsa_kd;
    ecdsa_kd.packets.push_back(kek_key_packet_from(ecdsa_kek));
    ecdsa_kd.packets.push_back(tek_key_packet_from(tek));
    std::vector<uint8_t> ecdsa_sig(64);
    for (size_t i = 0; i < ecdsa_sig.size(); ++i)
        ecdsa_sig[i] = static_cast<uint8_t>(0x80 + i);
    add("push-rekey-ecdsa", push,
        {SeqPayload{10}, GdoiSaPayload{doi::gdoi, 0, {sa_kek_from(ecdsa_kek)}}, ecdsa_kd,
         SigPayload{ecdsa_sig}},
        rfc);
    DeletePayload del;
    del.spis = {{0x1a, 0x2b, 0x3c, 0x4d}, {0, 0, 0, 1}};
    add("push-delete", push, {SeqPayload{9}, del, SigPayload{sig}}, rfc);

    test_support::PcapWriter pcap;
    for (auto& c : cases) {
        c.bytes = encode_message(c.message, c.ctx);
        pcap.add_udp({192, 0, 2, 1}, {192, 0, 2, 10}, kGdoiPort, c.bytes);
    }
    auto dir = std::filesystem::temp_directory_path() /
               ("gdoid-tshark-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string file = (dir / "encoded.pcap").string();
    pcap.save(file);
    std::string base = "tshark -n -d udp.port==848,isakmp -r " + file;
    auto verbose = frames_of(run(base + " -V 2>/dev/null"));
    std::string fields_out = run(
        base + " -T fields -E separator='|' -e frame.number -e isakmp.exchangetype"
               " -e isakmp.length -e isakmp.ispi -e isakmp.sak.spi -e isakmp.sat.spi"
               " -e isakmp.sat.src_id_length -e isakmp.sat.transform_id -e isakmp.seq.seq"
               " -e isakmp.kd.num_pkt -e isakmp.kd.payload.spi -e isakmp.delete.spi"
               " -e isakmp.id.data.key_id -e isakmp.notify.msgtype -e isakmp.nonce"
               " -e isakmp.trans.id -e isakmp.sig"
               " 2>/dev/null");
    std::filesystem::remove_all(dir);

    std::map<int, std::vector<std::string>> fields;
    std::istringstream lines(fields_out);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> cols;
        std::string col;
        std::istringstream split(line);
        while (std::getline(split, col, '|')) cols.push_back(col);
        cols.resize(17);
        fields[std::atoi(cols[0].c_str())] = cols;
    }
    REQUIRE(fields.size() == cases.size());

    for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        int frame = static_cast<int>(i + 1);
        INFO("case " << c.name << " (frame " << frame << ")\n" << verbose[frame]);
        const auto& f = fields[frame];
        bool malformed = verbose[frame].find("Malformed") != std::string::npos ||
                         verbose[frame].find("Expert Info (Error") != std::string::npos;
        CHECK(f[1] == std::to_string(c.message.header.exchange_type));
        CHECK(f[2] == std::to_string(c.bytes.size()));
        // Our own decoder reads back every case, whatever Wireshark says.
        CHECK(decode_message(c.bytes).payloads.size() == c.message.payloads.size());

        if (c.name == "pull2-tek-rfc" || c.name == "pull2-kek-gap-tek") {
            // Known disagreement: RFC 6407 section 5.4.1 draws SRC/DST ID Data Len as one octet
            // (and the Cisco reference server writes one); Wireshark 4.0 reads two, so it takes
            // our length octet and the first data octet together and gives up.
            if (c.name == "pull2-tek-rfc") {
                CHECK(malformed);
                CHECK(f[6] == std::to_string(8 << 8 | 10)); // 0x08 then 10 of 10.1.0.0
            } else {
                // Wireshark 4.0 stops after the SA KEK: it does not know GAP (22) as an SA
                // attribute payload, so it never reaches the TEK. No error, no TEK fields.
                CHECK_FALSE(malformed);
                CHECK(f[5].empty());
                CHECK(f[4] == hex(kek.spi));
            }
            continue;
        }
        if (c.name == "pull2-kek-extra-octets") {
            // Known disagreement: the reference server's 2 extra octets after the SA KEK
            // RESERVED; Wireshark reads them as an attribute header and flags the packet.
            CHECK(malformed);
            CHECK(f[4] == hex(kek.spi));
            continue;
        }
        CHECK_FALSE(malformed);
        if (c.name == "pull2-tek-2-octet-id-lengths") {
            CHECK(f[5] == "1a2b3c4d");
            CHECK(f[6] == "8");
            CHECK(f[7] == std::to_string(esp_transform::aes_cbc));
        }
        if (c.name == "pull1") CHECK(f[12] == "000004d2");
        if (c.name == "pull1-little-endian-group") CHECK(f[12] == "d2040000");
        if (c.name == "pull2-kek-only") CHECK(f[4] == hex(kek.spi));
        if (c.name == "pull4") {
            CHECK(f[8] == "7");
            CHECK(f[9] == "2");
            CHECK(f[10] == hex(kek.spi) + ",1a2b3c4d");
        }
        if (c.name == "push-rekey") {
            CHECK(f[3] == hex(std::span(kek.spi).first(8)));
            CHECK(f[8] == "8");
            CHECK(f[4] == hex(kek.spi));
        }
        if (c.name == "push-rekey-ecdsa") {
            CHECK(f[8] == "10");
            CHECK(f[4] == hex(kek.spi));
            CHECK(f[16] == hex(ecdsa_sig)); // the whole r | s as SIG data, nothing left over
        }
        if (c.name == "push-rekey") CHECK(f[16] == hex(sig));
        if (c.name == "push-delete") {
            CHECK(f[8] == "9");
            CHECK(f[11] == "1a2b3c4d,00000001");
        }
        if (c.name == "mm5") CHECK(f[13] == std::to_string(static_cast<int>(NotifyType::initial_contact)));
        if (c.name == "mm3") CHECK(f[14] == hex(nonce));
        if (c.name == "mm1") CHECK(f[15] == std::to_string(kTransformKeyIke));
    }
}

TEST_CASE("tshark dissects Main Mode with certificates and an ECP group without complaint",
          "[wire][tshark]") {
    REQUIRE(std::system("command -v tshark >/dev/null 2>&1") == 0);
    // Phase 1 as a Suite B key server negotiates it: RSA signatures (3), SHA2-384 (5), ECP-256
    // (group 19, RFC 5903), and the certificate payloads of RFC 2409 section 5.1.
    SaPayload sa = phase1_sa();
    for (auto& a : sa.proposals[0].transforms[0].attributes) {
        if (a.type == ike_attr::authentication_method) a = Attribute::tv(a.type, ike_auth::rsa_signature);
        if (a.type == ike_attr::hash_algorithm) a = Attribute::tv(a.type, ike_hash::sha2_384);
        if (a.type == ike_attr::group_description) a = Attribute::tv(a.type, 19);
    }
    auto certificate = self_signed_certificate();
    const unsigned char* cursor = certificate.data();
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        d2i_X509(nullptr, &cursor, static_cast<long>(certificate.size())), X509_free);
    REQUIRE(cert);
    unsigned char* dn_raw = nullptr;
    int dn_length = i2d_X509_NAME(X509_get_subject_name(cert.get()), &dn_raw);
    REQUIRE(dn_length > 0);
    std::vector<uint8_t> dn(dn_raw, dn_raw + dn_length);
    OPENSSL_free(dn_raw);
    IdPayload id;
    id.id_type = id_type::der_asn1_dn;
    id.data = dn;

    std::vector<std::pair<std::string, Message>> messages = {
        {"mm1-rsa-sig-ecp", Message{header(exchange::identity_protection, 0), {sa}, {}}},
        {"mm3-ecp-certreq",
         Message{header(exchange::identity_protection, 0),
                 {KePayload{std::vector<uint8_t>(64, 0x4e)}, NoncePayload{std::vector<uint8_t>(32, 0x5a)},
                  CertRequestPayload{cert_encoding::x509_signature, dn}},
                 {}}},
        {"mm5-cert-sig",
         Message{header(exchange::identity_protection, 0),
                 {id, CertPayload{cert_encoding::x509_signature, certificate},
                  SigPayload{std::vector<uint8_t>(256, 0x8d)}},
                 {}}},
    };
    test_support::PcapWriter pcap;
    for (auto& [name, message] : messages) {
        auto bytes = encode_message(message);
        CHECK(decode_message(bytes).payloads.size() == message.payloads.size());
        pcap.add_udp({192, 0, 2, 1}, {192, 0, 2, 10}, kGdoiPort, bytes);
    }
    auto dir = std::filesystem::temp_directory_path() /
               ("gdoid-tshark-cert-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string file = (dir / "cert.pcap").string();
    pcap.save(file);
    std::string base = "tshark -n -d udp.port==848,isakmp -r " + file;
    auto verbose = frames_of(run(base + " -V 2>/dev/null"));
    std::string fields = run(base + " -T fields -E separator='|' -e frame.number"
                                    " -e isakmp.certreq.type -e isakmp.cert.encoding -e isakmp.id.type"
                                    " -e isakmp.key_exchange.data 2>/dev/null");
    std::filesystem::remove_all(dir);
    std::map<int, std::vector<std::string>> columns;
    std::istringstream lines(fields);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> cols;
        std::string col;
        std::istringstream split(line);
        while (std::getline(split, col, '|')) cols.push_back(col);
        cols.resize(5);
        columns[std::atoi(cols[0].c_str())] = cols;
    }
    REQUIRE(columns.size() == 3);
    for (int frame = 1; frame <= 3; ++frame) {
        INFO(messages[size_t(frame - 1)].first << "\n" << verbose[frame]);
        CHECK(verbose[frame].find("Malformed") == std::string::npos);
        CHECK(verbose[frame].find("Expert Info (Error") == std::string::npos);
    }
    CHECK(verbose[1].find("RSA signatures") != std::string::npos);
    CHECK(verbose[1].find("SHA2-384") != std::string::npos);
    CHECK(columns[2][1] == "4");                                  // CERTREQ: X.509 signature
    CHECK(columns[2][4] == hex(std::vector<uint8_t>(64, 0x4e))); // KE: the 64 octets x | y
    CHECK(verbose[2].find("gdoid-test-ks") != std::string::npos); // the CA's DN, decoded
    CHECK(columns[3][2] == "4");                                  // CERT: X.509 signature
    CHECK(columns[3][3] == "9");                                  // ID_DER_ASN1_DN
    CHECK(verbose[3].find("gdoid-test-ks") != std::string::npos);
}
