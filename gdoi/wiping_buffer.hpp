// A byte vector that is wiped when it dies: for decrypted messages, whose plaintext carries key
// material (the KD payload of GROUPKEY-PULL message 4) and is read as a whole message, so it
// stays a vector for spans and decoders. Growing it can leave a stale copy behind: reserve the
// final size before filling it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <openssl/crypto.h>

namespace gdoi {

class WipingBuffer : public std::vector<uint8_t> {
public:
    WipingBuffer() = default;
    WipingBuffer(std::vector<uint8_t>&& bytes) noexcept : std::vector<uint8_t>(std::move(bytes)) {}
    WipingBuffer(const WipingBuffer&) = default;
    WipingBuffer(WipingBuffer&& other) noexcept : std::vector<uint8_t>(std::move(other)) {
        other.clear();
    }
    WipingBuffer& operator=(const WipingBuffer& other) {
        if (this != &other) {
            wipe();
            std::vector<uint8_t>::operator=(other);
        }
        return *this;
    }
    WipingBuffer& operator=(WipingBuffer&& other) noexcept {
        if (this != &other) {
            wipe();
            std::vector<uint8_t>::operator=(std::move(other));
            other.clear();
        }
        return *this;
    }
    WipingBuffer& operator=(std::vector<uint8_t>&& bytes) noexcept {
        wipe();
        std::vector<uint8_t>::operator=(std::move(bytes));
        return *this;
    }
    ~WipingBuffer() { wipe(); }

    void wipe() {
        if (!empty()) OPENSSL_cleanse(data(), size());
        clear();
    }
};

} // namespace gdoi
