// Key material that wipes itself and can never be printed by accident.
// Every key, IV, nonce secret and pre-shared key in gdoid lives in one of these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <openssl/crypto.h>

namespace gdoi {

class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
    explicit SecretBytes(std::string_view text)
        : bytes_(reinterpret_cast<const uint8_t*>(text.data()),
                 reinterpret_cast<const uint8_t*>(text.data()) + text.size()) {}
    explicit SecretBytes(size_t size) : bytes_(size, 0) {}

    SecretBytes(const SecretBytes&) = default;
    SecretBytes& operator=(const SecretBytes& other) {
        if (this != &other) {
            wipe();
            bytes_ = other.bytes_;
        }
        return *this;
    }
    SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
    SecretBytes& operator=(SecretBytes&& other) noexcept {
        if (this != &other) {
            wipe();
            bytes_ = std::move(other.bytes_);
            other.bytes_.clear();
        }
        return *this;
    }
    ~SecretBytes() { wipe(); }

    // Access is explicit so that a reviewer sees every place a secret leaves its box.
    std::span<const uint8_t> reveal() const { return bytes_; }
    std::span<uint8_t> reveal_mutable() { return bytes_; }

    size_t size() const { return bytes_.size(); }
    bool empty() const { return bytes_.empty(); }

    void append(std::span<const uint8_t> more) {
        // Grow into fresh storage so no stale copy is left behind by a reallocation.
        std::vector<uint8_t> grown;
        grown.reserve(bytes_.size() + more.size());
        grown.insert(grown.end(), bytes_.begin(), bytes_.end());
        grown.insert(grown.end(), more.begin(), more.end());
        wipe();
        bytes_ = std::move(grown);
    }

    void wipe() {
        if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
        bytes_.clear();
    }

    // Constant-time comparison: used when checking hashes and keys.
    friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
        return a.bytes_.size() == b.bytes_.size() &&
               CRYPTO_memcmp(a.bytes_.data(), b.bytes_.data(), a.bytes_.size()) == 0;
    }

private:
    std::vector<uint8_t> bytes_;
};

// Deliberately no operator<<, no to_string, no fmt formatter: a secret cannot reach a log line.

} // namespace gdoi
