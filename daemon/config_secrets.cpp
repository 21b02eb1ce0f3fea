#include "daemon/config_secrets.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gdoid::daemon {

namespace {

// What is being read: a pre-shared key (short, trimmed, a minimum length) or a PEM private key.
struct SecretKind {
    const char* noun;       // "pre-shared-key file" / "private-key file"
    size_t max_size;        // larger is the wrong file
    size_t min_length;      // 0: no minimum
    bool trim_line_ends;    // an editor's trailing newline is not part of a pre-shared key
};
// A key longer than 1024 octets is not a pre-shared key but the wrong file; a 4096-bit RSA key
// in PEM is about 3.3 KiB.
constexpr SecretKind psk_kind{"pre-shared-key file", 1024, min_psk_length, true};
constexpr SecretKind private_key_kind{"private-key file", 16384, 0, false};

struct FileDescriptor {
    int fd = -1;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};

std::string octal_mode(mode_t mode) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%04o", unsigned(mode & 07777));
    return buffer;
}

std::string owner_name(uid_t uid) { return uid == 0 ? "root" : "uid " + std::to_string(uid); }

// Reads the whole (small) file into a secret buffer; the trailing newline an editor or `echo`
// leaves is not part of the key.
PskLoad read_secret(int fd, const std::string& what, const SecretKind& kind) {
    const size_t max_psk_file_size = kind.max_size;
    gdoi::SecretBytes buffer(max_psk_file_size + 1);
    size_t used = 0;
    while (used < buffer.size()) {
        const ssize_t n = ::read(fd, buffer.reveal_mutable().data() + used, buffer.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return {{}, "cannot read " + what + ": " + std::strerror(errno)};
        if (n == 0) break;
        used += size_t(n);
    }
    if (used > max_psk_file_size)
        return {{}, what + " is larger than " + std::to_string(max_psk_file_size) +
                        " bytes; is it the right file?"};
    const auto bytes = buffer.reveal();
    while (kind.trim_line_ends && used > 0 && (bytes[used - 1] == '\n' || bytes[used - 1] == '\r'))
        --used;
    if (used == 0) return {{}, what + " is empty"};
    PskLoad result{gdoi::SecretBytes(bytes.subspan(0, used)), {}};
    if (result.psk.size() < kind.min_length) {
        const auto length = result.psk.size();
        result.psk.wipe();
        result.error = "the pre-shared key in " + what + " is " + std::to_string(length) +
                       " characters long; at least " + std::to_string(min_psk_length) + " are required";
    }
    return result;
}

PskLoad load_from_file(const std::string& path, uid_t required_owner, const SecretKind& kind) {
    const std::string what = std::string(kind.noun) + " " + path;
    if (path.empty() || path.front() != '/') return {{}, what + ": the path must be absolute"};
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)};
    if (file.fd < 0) {
        if (errno == ELOOP) return {{}, what + " is a symbolic link; name the file itself"};
        return {{}, "cannot open " + what + ": " + std::strerror(errno)};
    }
    struct stat info {};
    if (::fstat(file.fd, &info) != 0) return {{}, "cannot stat " + what + ": " + std::strerror(errno)};
    if (!S_ISREG(info.st_mode)) return {{}, what + " is not a regular file"};
    // Checked on the open descriptor, so the file cannot be swapped between check and read.
    if (info.st_uid != required_owner)
        return {{}, what + " is owned by " + owner_name(info.st_uid) + "; it must be owned by " +
                        owner_name(required_owner) + " (chown " + owner_name(required_owner) + ")"};
    if ((info.st_mode & 0177) != 0) {
        std::string who;
        if (info.st_mode & 0077) who = (info.st_mode & 0007) ? "all users" : "its group";
        return {{}, what + " has mode " + octal_mode(info.st_mode) +
                        (who.empty() ? "" : ", which lets " + who + " access it") +
                        "; it must be 0600 or stricter (chmod 600)"};
    }
    return read_secret(file.fd, what, kind);
}

PskLoad load_from_credential(const std::string& name, const SecretLoadOptions& options,
                             const SecretKind& kind) {
    const std::string what = "credential " + name;
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return {{}, "`" + name + "` is not a valid credential name"};
    std::string directory;
    if (options.credentials_directory) {
        directory = *options.credentials_directory;
    } else if (const char* env = std::getenv("CREDENTIALS_DIRECTORY"); env && *env) {
        directory = env;
    } else {
        return {{}, std::string(&kind == &psk_kind ? "the pre-shared key" : "the private key") +
                        " is the systemd credential `" + name +
                        "`, but $CREDENTIALS_DIRECTORY is not set (start gdoid from its unit with "
                        "LoadCredential=, or use { file = \"...\" })"};
    }
    const std::string path = directory + "/" + name;
    // systemd owns the credentials directory and makes it private to the service; its files
    // carry the service's owner, so only their content is checked.
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (file.fd < 0) return {{}, "cannot open " + what + " (" + path + "): " + std::strerror(errno)};
    return read_secret(file.fd, what, kind);
}

} // namespace

PskLoad load_psk(const PskSource& source, const SecretLoadOptions& options) {
    if (source.kind == PskSource::Kind::file)
        return load_from_file(source.name, options.required_owner, psk_kind);
    return load_from_credential(source.name, options, psk_kind);
}

PskLoad load_private_key_pem(const PskSource& source, const SecretLoadOptions& options) {
    if (source.kind == PskSource::Kind::file)
        return load_from_file(source.name, options.required_owner, private_key_kind);
    return load_from_credential(source.name, options, private_key_kind);
}

} // namespace gdoid::daemon
