#include "gdoi/wire/describe.hpp"

#include <cstdio>

namespace gdoi::wire {

namespace {

std::string hex(std::span<const uint8_t> bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

struct Lines {
    std::vector<std::string>& out;
    std::string prefix;
    void add(const std::string& key, const std::string& value) {
        out.push_back(prefix + key + " = " + value);
    }
    void add(const std::string& key, uint64_t value) { add(key, std::to_string(value)); }
    void attributes(const std::string& key, const std::vector<Attribute>& attrs) {
        for (const auto& a : attrs)
            add(key + "." + std::to_string(a.type),
                std::string(a.form == AttributeForm::tv ? "tv:" : "tlv:") + hex(a.value));
    }
    void endpoint(const std::string& key, const IdEndpoint& e) {
        add(key, std::to_string(e.id_type) + ":" + std::to_string(e.port) + ":" + hex(e.data));
    }
};

void describe(Lines& l, const SaPayload& p) {
    l.add("sa.doi", p.doi);
    l.add("sa.situation", p.situation);
    for (size_t i = 0; i < p.proposals.size(); ++i) {
        const auto& pr = p.proposals[i];
        std::string k = "sa.prop" + std::to_string(i + 1);
        l.add(k + ".protocol", pr.protocol_id);
        l.add(k + ".spi", hex(pr.spi));
        for (size_t j = 0; j < pr.transforms.size(); ++j) {
            std::string t = k + ".trans" + std::to_string(j + 1);
            l.add(t + ".id", pr.transforms[j].transform_id);
            l.attributes(t + ".attr", pr.transforms[j].attributes);
        }
    }
}

void describe(Lines& l, const GdoiSaPayload& p) {
    l.add("sa.doi", p.doi);
    size_t tek_index = 0;
    for (const auto& a : p.attributes) {
        if (auto* kek = std::get_if<SaKekPayload>(&a)) {
            l.add("sa.kek.protocol", kek->protocol);
            l.endpoint("sa.kek.src", kek->source);
            l.endpoint("sa.kek.dst", kek->destination);
            l.add("sa.kek.spi", hex(kek->spi));
            l.add("sa.kek.id_length_octets", kek->id_length_octets);
            l.add("sa.kek.extra_reserved", kek->extra_reserved_octets);
            l.attributes("sa.kek.attr", kek->attributes);
        } else if (auto* gap = std::get_if<GapPayload>(&a)) {
            l.attributes("sa.gap.attr", gap->attributes);
        } else {
            const auto& tek = std::get<SaTekPayload>(a);
            std::string k = "sa.tek" + std::to_string(++tek_index);
            l.add(k + ".protocol_id", tek.protocol_id);
            if (tek.protocol_id != tek_protocol::esp) {
                l.add(k + ".opaque", hex(tek.opaque_body));
                continue;
            }
            l.add(k + ".ip_protocol", tek.ip_protocol);
            l.endpoint(k + ".src", tek.source);
            l.endpoint(k + ".dst", tek.destination);
            l.add(k + ".transform", tek.transform_id);
            char spi[16];
            std::snprintf(spi, sizeof spi, "%08x", tek.spi);
            l.add(k + ".spi", spi);
            l.add(k + ".id_length_octets", tek.id_length_octets);
            l.attributes(k + ".attr", tek.attributes);
        }
    }
}

void describe(Lines& l, const KdPayload& p) {
    l.add("kd.packets", p.packets.size());
    for (size_t i = 0; i < p.packets.size(); ++i) {
        const auto& kp = p.packets[i];
        std::string k = "kd.kp" + std::to_string(i + 1);
        l.add(k + ".type", kp.kd_type);
        l.add(k + ".spi", hex(kp.spi));
        for (const auto& a : kp.attributes)
            l.add(k + ".attr." + std::to_string(a.type),
                  "secret:" + std::to_string(a.value.size())); // never the key itself
    }
}

} // namespace

std::vector<std::string> describe_message(const Message& m) {
    std::vector<std::string> out;
    Lines h{out, "header."};
    h.add("icookie", hex(m.header.initiator_cookie));
    h.add("rcookie", hex(m.header.responder_cookie));
    h.add("exchange", m.header.exchange_type);
    h.add("flags", m.header.flags);
    char mid[16];
    std::snprintf(mid, sizeof mid, "%08x", m.header.message_id);
    h.add("message_id", mid);
    h.add("length", m.header.length);
    h.add("payloads", m.payloads.size());
    for (size_t i = 0; i < m.payloads.size(); ++i) {
        const auto& p = m.payloads[i];
        Lines l{out, "p" + std::to_string(i + 1) + "."};
        l.add("type", payload_name(p.type()));
        std::visit(
            [&](const auto& body) {
                using T = std::decay_t<decltype(body)>;
                if constexpr (std::is_same_v<T, SaPayload> || std::is_same_v<T, GdoiSaPayload> ||
                              std::is_same_v<T, KdPayload>)
                    describe(l, body);
                else if constexpr (std::is_same_v<T, IdPayload>) {
                    l.add("id.type", body.id_type);
                    l.add("id.protocol", body.protocol);
                    l.add("id.port", body.port);
                    l.add("id.data", hex(body.data));
                } else if constexpr (std::is_same_v<T, CertPayload>) {
                    l.add("cert.encoding", body.encoding);
                    l.add("cert.length", body.data.size());
                } else if constexpr (std::is_same_v<T, CertRequestPayload>) {
                    l.add("cr.type", body.cert_type);
                    l.add("cr.authority.length", body.authority.size());
                } else if constexpr (std::is_same_v<T, NotifyPayload>) {
                    l.add("n.doi", body.doi);
                    l.add("n.protocol", body.protocol_id);
                    l.add("n.type", body.notify_type);
                    l.add("n.spi", hex(body.spi));
                    l.add("n.data", hex(body.data));
                } else if constexpr (std::is_same_v<T, DeletePayload>) {
                    l.add("d.doi", body.doi);
                    l.add("d.protocol", body.protocol_id);
                    l.add("d.spi_size", body.spi_size);
                    for (size_t j = 0; j < body.spis.size(); ++j)
                        l.add("d.spi" + std::to_string(j + 1), hex(body.spis[j]));
                } else if constexpr (std::is_same_v<T, SeqPayload>) {
                    l.add("seq", body.sequence);
                } else if constexpr (std::is_same_v<T, UnknownPayload>) {
                    l.add("unknown.type", body.type);
                    l.add("unknown.length", body.body.size());
                } else {
                    // KE, HASH, SIG, NONCE, VID: public values, shown in full.
                    l.add("data", hex(body.data));
                }
            },
            p.body);
    }
    for (const auto& o : m.observations) out.push_back(std::string("observed = ") + observation_name(o.kind));
    return out;
}

} // namespace gdoi::wire
