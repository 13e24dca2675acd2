"""A rogue DHCP responder for the tests: on an AF_PACKET socket of the
server-side veth, it answers every DISCOVER/REQUEST it sees with a burst of
bad replies (wrong xid, wrong chaddr, truncated, no cookie, BOOTREQUEST,
no server id, overlong option, garbage), as Ethernet broadcast frames,
and counts them.

    python3 dhcp_rogue.py IFACE SERVER_IP COUNT_FILE
"""

import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(src_mac, src_ip, payload):
    udp = struct.pack("!HHHH", 67, 68, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src_ip),
                     b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + src_mac + b"\x08\x00" + ip + udp


def reply(xid, chaddr, mtype, sid, yiaddr, cookie=b"\x63\x82\x53\x63", op=2, extra=b""):
    p = bytearray(236)
    p[0] = op
    p[1] = 1
    p[2] = 6
    p[4:8] = xid
    p[10] = 0x80
    p[16:20] = yiaddr
    p[28:44] = chaddr
    opts = bytes((53, 1, mtype))
    if sid:
        opts += b"\x36\x04" + sid
    opts += b"\x33\x04\x00\x00\x0e\x10\x01\x04\xff\xff\xff\x00" + extra + b"\xff"
    return bytes(p) + cookie + opts


def bad_replies(req, sid):
    xid = req[4:8]
    chaddr = req[28:44]
    mtype = 2 if 53 in req[240:243] and req[242] == 1 else 5
    yi = socket.inet_aton(sid)[:3] + b"\xc8"  # .200: never offered by the real server
    s = socket.inet_aton(sid)
    wrong_chaddr = bytes([chaddr[0] ^ 1]) + chaddr[1:]
    good = reply(xid, chaddr, mtype, s, yi)
    return [
        reply(bytes([xid[0] ^ 0xFF]) + xid[1:], chaddr, mtype, s, yi),  # wrong xid
        reply(xid, wrong_chaddr, mtype, s, yi),  # wrong chaddr
        good[:200],  # truncated fixed part
        good[:243] + b"\x36\x04\x0a",  # truncated option
        reply(xid, chaddr, mtype, s, yi, cookie=b"\0\0\0\0"),  # no cookie
        reply(xid, chaddr, mtype, s, yi, op=1),  # a request, not a reply
        reply(xid, chaddr, mtype, None, yi),  # no server id
        reply(xid, chaddr, mtype, s, yi, extra=b"\x0c\xff" + b"x" * 10),  # option past the end
        b"\x02" * 7,  # garbage
    ]


def main():
    iface, sid, count_file = sys.argv[1:4]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    mac = s.getsockname()[4]
    sent = 0
    while True:
        pkt = s.recv(2048)
        # Ethernet(14) IPv4(20, no options assumed) UDP(8) to port 67
        if len(pkt) < 14 + 20 + 8 + 240 or pkt[23] != 17:
            continue
        ihl = (pkt[14] & 15) * 4
        udp = 14 + ihl
        if struct.unpack("!H", pkt[udp + 2 : udp + 4])[0] != 67:
            continue
        req = pkt[udp + 8 :]
        if req[0] != 1:
            continue
        for r in bad_replies(req, sid):
            s.send(frame(mac, sid, r))
            sent += 1
        with open(count_file, "w") as f:
            f.write(str(sent))


if __name__ == "__main__":
    main()
