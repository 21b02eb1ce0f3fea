#include "daemon/datapath_agreement.hpp"

#include <cstdio>

namespace gdoid::daemon {

namespace {

std::string instance_name(const std::optional<std::string>& vrf) {
    return vrf ? "`" + *vrf + "`" : "none (the main table)";
}

std::string mark_text(uint32_t mask) {
    if (mask == 0) return "none";
    char text[16];
    std::snprintf(text, sizeof text, "0x%x", mask);
    return text;
}

std::string mss_text(uint16_t mss) {
    return mss ? std::to_string(mss) : "none";
}

std::string anchors_text(const SharedDatapathSettings& s) {
    return s.local_anchor.to_string() + " and anchor " + s.inbound_anchor.to_string() + "/" +
           s.remote_anchor.to_string();
}

} // namespace

SharedDatapathSettings shared_datapath_settings(const GroupConfig& group) {
    SharedDatapathSettings s;
    s.wan_interface = group.wan_interface;
    s.routing_instance = group.routing_instance;
    s.local_anchor = group.local_address;
    s.inbound_anchor = group.anchor.inbound;
    s.remote_anchor = group.anchor.remote;
    s.bypass_mask = group.bypass_mark ? group.bypass_mark->mask : 0;
    s.set_df = group.df_bit == DfBit::set;
    s.tcp_mss = group.tcp_mss.value_or(0);
    return s;
}

std::vector<DatapathDisagreement> datapath_disagreements(const SharedDatapathSettings& group,
                                                         const SharedDatapathSettings& other) {
    std::vector<DatapathDisagreement> out;
    if (group.wan_interface != other.wan_interface)
        out.push_back({"wan-interface",
                       "wan-interface `" + group.wan_interface + "` differs from `" +
                           other.wan_interface + "`",
                       "on one WAN interface"});
    if (group.routing_instance != other.routing_instance)
        out.push_back({"routing-instance",
                       "routing-instance " + instance_name(group.routing_instance) +
                           " differs from " + instance_name(other.routing_instance),
                       "whose WAN interface and inbound anchor are in one routing instance"});
    if (group.local_anchor.family == other.local_anchor.family &&
        (group.local_anchor != other.local_anchor || group.inbound_anchor != other.inbound_anchor ||
         group.remote_anchor != other.remote_anchor))
        out.push_back(
            {group.local_anchor != other.local_anchor ? "local-address" : "anchor",
             "local-address " + anchors_text(group) + " differ from " + anchors_text(other),
             "whose anchors are one set per address family"});
    if (group.set_df != other.set_df)
        out.push_back({"df-bit", "df-bit \"set\" is for all groups or none",
                       "which sets DF on every packet it restores"});
    if (group.tcp_mss != other.tcp_mss)
        out.push_back(
            {"tcp-mss",
             "tcp-mss " + mss_text(group.tcp_mss) + " differs from " + mss_text(other.tcp_mss),
             "which clamps every SYN to one value"});
    if (group.bypass_mask != other.bypass_mask)
        out.push_back({"bypass-mark",
                       "bypass-mark " + mark_text(group.bypass_mask) + " differs from " +
                           mark_text(other.bypass_mask),
                       "which skips one mark bit"});
    return out;
}

} // namespace gdoid::daemon
