#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# wg_path_rtt.py: splits each ping's round trip through a WireGuard tunnel into the time the
# emulated WAN held its packets and the time the tunnel itself took, from two captures.
#
#   wg_path_rtt.py CLIENT_PCAP CLIENT_PORT SERVER_PCAP SERVER_PORT SIZE PING_OUTPUT [TUN_PCAP]
#
# CLIENT_PCAP: the client host's WAN (its encrypted datagrams to and from CLIENT_PORT, the relay's
# listen port); SERVER_PCAP: the server host between the relay and the server (datagrams to and
# from SERVER_PORT). Both captures come from one kernel, so their clocks agree. Only WireGuard
# transport messages (type 4) whose UDP payload is SIZE bytes count (the pings; keepalives are
# 32). Datagrams are matched by their WireGuard counter, so duplicates (first copy wins) and
# losses are handled. For request i (the i-th sent, i.e. icmp_seq i):
#   t1 leaves the client, t2 reaches the server, t3 the server's reply leaves, t4 it reaches
#   the client; path = (t2 - t1) + (t4 - t3) is what the WAN added, tunnel = the RTT between
#   the echo request and reply on the TUN (TUN_PCAP; exact), or else ping's own (whole ms
#   above 100 ms).
# Prints one line per matched ping and a summary line:
#   summary: matched=N path_min_ms=.. tunnel_min_ms=.. excess_ms=.. overhead_median_ms=..
# excess = tunnel_min - path_min. Exits 1 if nothing matched.
import re
import statistics
import struct
import sys


def read_pcap(path, proto):
    """Yields (time_s, IP payload) of the IPv4 packets of protocol PROTO."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    else:
        endian = ">"
        magic = struct.unpack(">I", data[:4])[0]
    scale = 1e-9 if magic == 0xA1B23C4D else 1e-6
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif linktype == 113:  # Linux cooked
            ip = frame[16:]
        else:
            ip = frame
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != proto:
            continue
        yield sec + frac * scale, ip[(ip[0] & 15) * 4:]


def read_udp(path):
    """Yields (time_s, udp_src_port, udp_dst_port, payload_length, payload) of IPv4/UDP."""
    for t, udp in read_pcap(path, 17):
        if len(udp) >= 8:
            sport, dport, length = struct.unpack(">HHH", udp[:6])
            yield t, sport, dport, length - 8, udp[8:]


def tun_rtts(path):
    """{icmp_seq: RTT ms} from the first echo request and first reply of each sequence."""
    sent, rtt = {}, {}
    for t, icmp in read_pcap(path, 1):
        if len(icmp) < 8 or icmp[0] not in (0, 8):
            continue
        seq = struct.unpack(">H", icmp[6:8])[0]
        if icmp[0] == 8:
            sent.setdefault(seq, t)
        elif seq in sent and seq not in rtt:
            rtt[seq] = (t - sent[seq]) * 1e3
    return rtt


def transport(path, port, size):
    """(to PORT: [(t, counter)] in capture order, from PORT: {counter: first t})."""
    to_port, from_port, seen_to = [], {}, set()
    for t, sport, dport, length, payload in read_udp(path):
        if length != size or len(payload) < 16 or payload[0] != 4:
            continue
        counter = struct.unpack("<Q", payload[8:16])[0]
        if dport == port and counter not in seen_to:
            seen_to.add(counter)
            to_port.append((t, counter))
        elif sport == port and counter not in from_port:
            from_port[counter] = t
    return to_port, from_port


def main():
    client_pcap, client_port, server_pcap, server_port, size, ping_file = sys.argv[1:7]
    size = int(size)
    up_sent, down_arrived = transport(client_pcap, int(client_port), size)
    up_at_server, down_left = transport(server_pcap, int(server_port), size)
    t2_of = dict((c, t) for t, c in up_at_server)
    replies = sorted((t, c) for c, t in down_left.items())

    rtt = {}
    if len(sys.argv) > 7:
        rtt = tun_rtts(sys.argv[7])
    with open(ping_file) as f:
        for line in f:
            m = re.search(r"icmp_seq=(\d+) .*time=([0-9.]+) ms", line)
            if m and "DUP" not in line and int(m.group(1)) not in rtt and len(sys.argv) <= 7:
                rtt[int(m.group(1))] = float(m.group(2))

    rows = []
    for seq, (t1, counter) in enumerate(up_sent, start=1):
        t2 = t2_of.get(counter)
        if t2 is None or seq not in rtt:
            continue
        # The server's reply to this request: the first one it sent after the request arrived.
        reply = next(((t, c) for t, c in replies if t >= t2), None)
        if reply is None or reply[0] - t2 > 0.1 or reply[1] not in down_arrived:
            continue
        t3, reply_counter = reply
        t4 = down_arrived[reply_counter]
        path_ms = ((t2 - t1) + (t4 - t3)) * 1e3
        rows.append((seq, path_ms, rtt[seq]))
        print("ping seq=%d path_ms=%.3f tunnel_ms=%.3f overhead_ms=%.3f"
              % (seq, path_ms, rtt[seq], rtt[seq] - path_ms))
    if not rows:
        print("summary: matched=0")
        return 1
    path_min = min(r[1] for r in rows)
    tunnel_min = min(r[2] for r in rows)
    print("summary: matched=%d path_min_ms=%.3f tunnel_min_ms=%.3f excess_ms=%.3f "
          "overhead_median_ms=%.3f" % (len(rows), path_min, tunnel_min, tunnel_min - path_min,
                                       statistics.median(r[2] - r[1] for r in rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
