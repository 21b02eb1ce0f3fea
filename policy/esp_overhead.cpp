#include "policy/esp_overhead.hpp"

namespace policy {

std::optional<EspOverhead> esp_overhead(const gdoi::TekPolicy& tek, bool outer_ipv6) {
    EspOverhead o;
    o.outer_header = outer_ipv6 ? 40 : 20;
    bool aead = false;
    switch (tek.cipher) {
    case gdoi::TekCipher::aes_cbc:
        o.iv = 16;
        o.block = 16;
        break;
    case gdoi::TekCipher::des3_cbc:
        o.iv = 8;
        o.block = 8;
        break;
    case gdoi::TekCipher::aes_gcm_16: // RFC 4106: 8-octet IV, 16-octet ICV, stream-like
        o.iv = 8;
        o.block = 4;
        o.icv = 16;
        aead = true;
        break;
    case gdoi::TekCipher::null_encryption:
        o.iv = 0;
        o.block = 4;
        break;
    case gdoi::TekCipher::none:
        return std::nullopt;
    }
    if (aead) return o;
    switch (tek.integrity) {
    case gdoi::TekIntegrity::hmac_md5:
    case gdoi::TekIntegrity::hmac_sha1:
        o.icv = 12;
        break; // RFC 2403, 2404: 96 bits
    case gdoi::TekIntegrity::hmac_sha256:
        o.icv = 16;
        break; // RFC 4868: half the output
    case gdoi::TekIntegrity::hmac_sha384:
        o.icv = 24;
        break;
    case gdoi::TekIntegrity::hmac_sha512:
        o.icv = 32;
        break;
    case gdoi::TekIntegrity::none:
        if (tek.cipher == gdoi::TekCipher::null_encryption) return std::nullopt;
        break;
    }
    return o;
}

uint32_t inner_mtu(const EspOverhead& o, uint32_t link_mtu) {
    const uint32_t fixed = o.outer_header + o.esp_header + o.iv + o.icv;
    if (link_mtu < fixed + o.trailer + o.block) return 0;
    // The padded payload (inner packet + trailer) must be a whole number of blocks.
    return ((link_mtu - fixed) & ~(o.block - 1)) - o.trailer;
}

} // namespace policy
