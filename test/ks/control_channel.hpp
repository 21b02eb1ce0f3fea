// The test key server's control channel: a UNIX stream socket, one JSON object per line in,
// one JSON object per line out. Commands (field "command"):
//   status                      -> registered members, groups (with timed_rekeys), acks, ejected,
//                                  whether silent
//   silent / come-back          -> drop every datagram / answer again (timed rekeys go on)
//   push-now, delete-tek, eject-member -> a GROUPKEY-PUSH now (test/ks/rekey.hpp); the reply
//                                  names the sequence, the SPIs and where it went
// (test/ks/README.md has every field.)
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace gdoi_test_ks {

class ControlChannel {
public:
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

    // Creates the socket at `path` (an old file there is replaced); throws on failure.
    ControlChannel(std::string path, Handler handler);
    ~ControlChannel();
    ControlChannel(const ControlChannel&) = delete;
    ControlChannel& operator=(const ControlChannel&) = delete;

    // File descriptors to poll for reading: the listener and every client.
    std::vector<int> fds() const;
    // Call when `fd` is readable.
    void on_readable(int fd);

private:
    void serve_line(int fd, const std::string& line);

    std::string path_;
    Handler handler_;
    int listener_ = -1;
    std::map<int, std::string> clients_; // fd -> partial input
};

} // namespace gdoi_test_ks
