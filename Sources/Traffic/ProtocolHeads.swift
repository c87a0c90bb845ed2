import Packets

/// Payload heads of the protocols normal traffic and reflection attacks carry, byte for byte as
/// on the wire up to the head's end (normal heads are what a byte rule derived from an attack's
/// payload must not match). Encrypted or media bytes are random.
enum ProtocolHeads {
    // MARK: DNS (RFC 1035)

    /// Query names, in wire form: a small set, as a site's clients ask for the same few names.
    static let dnsNames: [[UInt8]] = [
        "www.example.com", "api.example.com", "cdn.example.net", "mail.example.org", "time.example.net",
        "example.com", "login.example.com", "static.example.net",
    ].map(wireName)

    /// Query types asked: A, AAAA, HTTPS.
    @inline(__always)
    static func dnsType(_ rng: inout TrafficRandom) -> UInt16 {
        let u = rng.below(10)
        return u < 6 ? 1 : (u < 9 ? 28 : 65)
    }

    /// Header and question: 12 bytes, the name, type and class.
    @inline(__always)
    static func dnsQuestion(_ h: inout HeadBytes, id: UInt16, flags: UInt16, answers: UInt16, name: Int, type: UInt16) {
        h.be16(id)
        h.be16(flags)
        h.be16(1)  // QDCOUNT
        h.be16(answers)
        h.be32(0)  // NSCOUNT, ARCOUNT
        dnsNames[name].withUnsafeBytes { h.append($0) }
        h.be16(type)
        h.be16(1)  // IN
    }

    /// Length of a query for name `name`.
    @inline(__always)
    static func dnsQueryLength(name: Int) -> Int { 12 + dnsNames[name].count + 4 }

    /// Length of one answer record for `type` (compressed name pointer, A or AAAA data; HTTPS
    /// answers are given a 16-byte record too).
    @inline(__always)
    static func dnsAnswerLength(type: UInt16) -> Int { 12 + (type == 1 ? 4 : 16) }

    /// A recursive query (flags 0x0100: RD), random ID.
    @inline(__always)
    static func dnsQuery(name: Int, type: UInt16, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        dnsQuestion(&h, id: rng.word16(), flags: 0x0100, answers: 0, name: name, type: type)
        return h
    }

    /// A response (flags 0x8180: QR, RD, RA, no error) with `answers` records, as many of them
    /// as fit in the head.
    @inline(__always)
    static func dnsResponse(name: Int, type: UInt16, answers: Int, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        dnsQuestion(&h, id: rng.word16(), flags: 0x8180, answers: UInt16(answers), name: name, type: type)
        for _ in 0..<answers {
            guard h.count < PayloadHead.capacity else { break }
            h.be16(0xC00C)  // the question's name
            h.be16(type)
            h.be16(1)
            h.be32(rng.between(60, 3600))
            let n = type == 1 ? 4 : 16
            h.be16(UInt16(n))
            for _ in 0..<n { h.u8(UInt8(truncatingIfNeeded: rng.next())) }
        }
        return h
    }

    /// Names amplifiers ask about (large signed zones).
    static let amplifiedNames: [[UInt8]] = ["isc.org", "ripe.net", "cpsc.gov"].map(wireName)

    static func wireName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out.append(contentsOf: label.utf8)
        }
        out.append(0)
        return out
    }

    /// The start of a reflected ANY response: header (QR, RD, RA; one question, many answers,
    /// an OPT record), the question for type ANY, the first answer's fixed part (a DNSKEY).
    /// No random bytes: it leaves the attack's random stream, and so its headers, as it was.
    @inline(__always)
    static func dnsAnyResponse(id: UInt16, size: Int) -> HeadBytes {
        var h = HeadBytes()
        h.be16(id)
        h.be16(0x8180)
        h.be16(1)
        h.be16(UInt16(min(255, max(1, size / 180))))
        h.be16(0)
        h.be16(1)
        amplifiedNames[Int(id % UInt16(amplifiedNames.count))].withUnsafeBytes { h.append($0) }
        h.be16(255)  // ANY
        h.be16(1)
        h.be16(0xC00C)
        h.be16(48)  // DNSKEY
        h.be16(1)
        h.be32(3600)
        h.be16(264)
        h.be16(0x0101)  // flags: zone key, secure entry point
        h.u8(3)  // protocol
        h.u8(8)  // RSA/SHA-256
        return h
    }

    // MARK: QUIC (RFC 9000)

    /// A client's long-header packet (Initial): first byte 0xC0–0xCF (form and fixed bits set,
    /// type Initial, the low four bits under header protection), version 1, the connection IDs,
    /// an empty token, the length, then protected packet number and ciphertext.
    @inline(__always)
    static func quicLong(dcid: UInt64, scid: UInt64, payload: Int, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        h.u8(0xC0 | UInt8(rng.below(16)))
        h.be32(1)
        h.u8(8); h.be64(dcid)
        h.u8(8); h.be64(scid)
        h.u8(0)  // token length
        // Length (2-byte varint): packet number and payload, the rest of the datagram.
        h.be16(0x4000 | UInt16(max(0, payload - h.count - 2) & 0x3FFF))
        h.randomRest(&rng)
        return h
    }

    /// A short-header packet: first byte 0x40–0x7F (fixed bit; spin, key phase and packet-number
    /// length random-looking), the connection's destination ID, then protected bytes.
    @inline(__always)
    static func quicShort(dcid: UInt64, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        h.u8(0x40 | UInt8(rng.below(64)))
        h.be64(dcid)
        h.randomRest(&rng)
        return h
    }

    // MARK: RTP (RFC 3550)

    /// Version 2, no padding, extension or CSRCs (0x80), the payload type, sequence number,
    /// timestamp, SSRC, then media bytes.
    @inline(__always)
    static func rtp(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32,
                    _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        h.u8(0x80)
        h.u8(payloadType)
        h.be16(sequence)
        h.be32(timestamp)
        h.be32(ssrc)
        h.randomRest(&rng)
        return h
    }

    /// A mode 7 MON_GETLIST_1 response as amplifiers send it: response and more bits, version
    /// 2, mode 7 (0xD7), sequence, implementation XNTPD (3), request 42, six items of 72 bytes.
    @inline(__always)
    static func ntpMonlist(sequence: UInt8) -> HeadBytes {
        var h = HeadBytes()
        h.u8(0xD7)
        h.u8(sequence & 0x7F)
        h.u8(3)
        h.u8(42)
        h.be16(6)
        h.be16(72)
        return h
    }

    // MARK: Web (TLS 1.3 over TCP 443, HTTP/1.1 over 80)

    static let httpRequests: [StaticString] = [
        "GET / HTTP/1.1\r\nHost: www.example.com\r\n",
        "GET /index.html HTTP/1.1\r\nHost: example.com\r\n",
        "POST /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\n",
    ]
    static let httpHeaders: StaticString = "User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n"

    /// A client's first data: a TLS ClientHello record (handshake 0x16, legacy version 3.1,
    /// ClientHello 0x01, version 3.3, random, session ID) or an HTTP request line and Host.
    @inline(__always)
    static func webRequest(tls: Bool, payload: Int, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        if tls {
            h.u8(0x16); h.be16(0x0301); h.be16(UInt16(max(0, payload - 5)))
            h.u8(0x01); h.u8(0); h.be16(UInt16(max(0, payload - 9)))
            h.be16(0x0303)
            h.randomRest(&rng)  // random, session ID, cipher suites: random-looking at this depth
        } else {
            let line = httpRequests[Int(rng.below(UInt32(httpRequests.count)))]
            h.append(UnsafeRawBufferPointer(start: line.utf8Start, count: line.utf8CodeUnitCount))
            h.append(UnsafeRawBufferPointer(start: httpHeaders.utf8Start, count: httpHeaders.utf8CodeUnitCount))
        }
        return h
    }

    /// Later data: a TLS application-data record (0x17, 3.3, length, ciphertext), or over HTTP
    /// a request body (random bytes stand for it).
    @inline(__always)
    static func webData(tls: Bool, payload: Int, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        if tls { h.u8(0x17); h.be16(0x0303); h.be16(UInt16(max(0, payload - 5))) }
        h.randomRest(&rng)
        return h
    }

    // MARK: NTP (RFC 5905), ICMP echo

    /// Version 4, mode 3 (client) or 4 (server): the first word, then timestamps.
    @inline(__always)
    static func ntp(server: Bool, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        h.u8(server ? 0x24 : 0x23)
        h.u8(server ? UInt8(rng.between(1, 3)) : 0)  // stratum
        h.u8(server ? 6 : 0)  // poll
        h.u8(server ? 0xE9 : 0x20)  // precision
        if server {
            // Root delay and dispersion, reference ID, then the timestamps.
            h.randomRest(&rng)
        } else {
            // Clients send zeros up to the transmit timestamp (offset 40).
            while h.count < 40 { h.u8(0) }
            h.be64(rng.next())
        }
        return h
    }

    /// An echo request's data: Linux and macOS ping put a 16-byte time value, then byte i = i
    /// (0x10, 0x11, …); Windows the alphabet a–w over and over.
    @inline(__always)
    static func ping(os: UInt8, _ rng: inout TrafficRandom) -> HeadBytes {
        var h = HeadBytes()
        if os == 1 {
            for i in 0..<32 { h.u8(0x61 + UInt8(i % 23)) }
        } else {
            h.be64(rng.next())
            h.be64(rng.next() & 0xFFFF_F000_0000_0000)  // microseconds < 2^20, little-endian
            while h.count < PayloadHead.capacity { h.u8(UInt8(h.count)) }
        }
        return h
    }
}
