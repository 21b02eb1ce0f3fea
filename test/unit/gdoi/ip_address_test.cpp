#include <catch2/catch.hpp>

#include "gdoi/ip_address.hpp"

using namespace gdoi;

static IpPrefix prefix(const char* text) {
    auto parsed = IpPrefix::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

TEST_CASE("addresses parse and print in both families", "[ip]") {
    CHECK(IpAddress::parse("10.1.2.3")->to_string() == "10.1.2.3");
    CHECK(IpAddress::parse("2001:db8::1")->to_string() == "2001:db8::1");
    CHECK(IpAddress::parse("2001:db8::1")->family == IpFamily::v6);
    CHECK_FALSE(IpAddress::parse("10.1.2"));
    CHECK_FALSE(IpAddress::parse("10.1.2.3.4"));
    CHECK_FALSE(IpAddress::parse(""));
    CHECK(IpAddress::parse("239.10.1.1")->is_multicast());
    CHECK_FALSE(IpAddress::parse("10.10.1.1")->is_multicast());
}

TEST_CASE("prefixes parse, reject bad lengths and know their bounds", "[ip]") {
    CHECK(prefix("10.1.0.0/16").to_string() == "10.1.0.0/16");
    CHECK(prefix("10.1.2.3").length == 32);
    CHECK(prefix("2001:db8::/32").length == 32);
    CHECK_FALSE(IpPrefix::parse("10.1.0.0/33"));
    CHECK_FALSE(IpPrefix::parse("10.1.0.0/"));
    CHECK_FALSE(IpPrefix::parse("10.1.0.0/1x"));
    CHECK_FALSE(IpPrefix::parse("2001:db8::/129"));
    CHECK(prefix("10.1.2.3/16").first().to_string() == "10.1.0.0");
    CHECK(prefix("10.1.2.3/16").last().to_string() == "10.1.255.255");
    CHECK_FALSE(prefix("10.1.2.3/16").is_canonical());
    CHECK(prefix("10.1.0.0/16").contains(*IpAddress::parse("10.1.200.7")));
    CHECK_FALSE(prefix("10.1.0.0/16").contains(*IpAddress::parse("10.2.0.1")));
    CHECK(prefix("10.0.0.0/8").contains(prefix("10.1.0.0/16")));
    CHECK_FALSE(prefix("10.1.0.0/16").contains(prefix("10.0.0.0/8")));
    CHECK(prefix("0.0.0.0/0").contains(*IpAddress::parse("192.0.2.1")));
    CHECK_FALSE(prefix("0.0.0.0/0").contains(*IpAddress::parse("::1")));
}

TEST_CASE("ranges split into the fewest covering prefixes", "[ip]") {
    auto split = [](const char* first, const char* last) {
        std::vector<std::string> out;
        for (const auto& p : IpRange{*IpAddress::parse(first), *IpAddress::parse(last)}.to_prefixes())
            out.push_back(p.to_string());
        return out;
    };
    CHECK(split("10.0.0.0", "10.0.0.255") == std::vector<std::string>{"10.0.0.0/24"});
    CHECK(split("10.0.0.1", "10.0.0.1") == std::vector<std::string>{"10.0.0.1/32"});
    CHECK(split("10.0.0.1", "10.0.0.6") ==
          std::vector<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"});
    CHECK(split("0.0.0.0", "255.255.255.255") == std::vector<std::string>{"0.0.0.0/0"});
    CHECK(split("255.255.255.254", "255.255.255.255") == std::vector<std::string>{"255.255.255.254/31"});
    CHECK(split("2001:db8::", "2001:db8::ffff") == std::vector<std::string>{"2001:db8::/112"});
    CHECK(split("10.0.0.9", "10.0.0.1").empty());
}
