#!/usr/bin/env python3
"""A paced UDP echo stream with sequence numbers, for figure 6 (bench/vm_rekey_loss.sh): a ping
that can reach 1,000 a second under TCG and counts its losses exactly.

  udp_echo_stream.py echo PORT                  answer every datagram to its sender
  udp_echo_stream.py send HOST PORT RATE        send at most RATE datagrams a second (8-octet sequence
                                                numbers, 64 octets) from "started" until
                                                SIGTERM, then wait 3 s
                                                for the replies in flight and print one line:
                                                "sent N answered M lost L seconds S rate R",
                                                then one line per run of lost datagrams:
                                                "gap HH:MM:SS.s-HH:MM:SS.s N lost" (wall clock)
Lost = sequence numbers never answered (each once, duplicates ignored)."""
import select, signal, socket, struct, sys, time

# Under TCG on a shared machine either end can be descheduled for half a second: a large
# receive buffer (root: SO_RCVBUFFORCE) keeps such a stall from counting as network loss.
BUFFER = 8 << 20


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), BUFFER)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUFFORCE", 32), BUFFER)
    return s


def echo(port):
    s = udp_socket()
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def send(host, port, rate):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = udp_socket()
    s.connect((host, port))
    s.setblocking(False)
    answered = set()
    padding = bytes(56)

    def drain():
        while True:
            try:
                data = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(data) >= 8:
                answered.add(struct.unpack("!Q", data[:8])[0])

    print("started", flush=True)  # python's own start-up is seconds under TCG: not counted
    start = time.monotonic()
    sent = 0
    sent_at = []  # wall clock of each datagram, to say when losses happened
    next_at = start
    while not stop:
        now = time.monotonic()
        if now >= next_at:
            try:
                s.send(struct.pack("!Q", sent) + padding)
                sent_at.append(time.time())
                sent += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
            # Never faster than RATE: after a stall (this process descheduled) the slots missed
            # are skipped, not sent in a burst that no emulated ESP path could carry.
            next_at = max(next_at + 1 / rate, now - 0.01)
        drain()
        wait = next_at - time.monotonic()
        if wait > 0:
            select.select([s], [], [], wait)
    seconds = time.monotonic() - start
    end = time.monotonic() + 3
    while time.monotonic() < end:
        select.select([s], [], [], 0.1)
        drain()
    got = len([n for n in answered if n < sent])
    print(f"sent {sent} answered {got} lost {sent - got} seconds {seconds:.1f} rate {sent / seconds:.0f}",
          flush=True)
    clock = lambda t: time.strftime("%H:%M:%S", time.localtime(t)) + f"{t % 1:.1f}"[1:]
    first = None
    for n in range(sent + 1):
        lost = n < sent and n not in answered
        if lost and first is None:
            first = n
        elif not lost and first is not None:
            print(f"gap {clock(sent_at[first])}-{clock(sent_at[n - 1])} {n - first} lost", flush=True)
            first = None


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        echo(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
