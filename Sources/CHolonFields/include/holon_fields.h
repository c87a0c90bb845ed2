// The packet field table: the one list of fields the XDP program (parse.bpf.h, classify.bpf.h),
// the Swift parser (`PacketField`, `PacketFeatures`), the encoder, the rule language and the
// nftables exporter share (DESIGN.md, "Contracts that span modules"). Adding a field is one row
// here plus the lines that parse it (Packets' parser, parse.bpf.h) and its `PacketField` case.
//
// Header only and uapi types only: it compiles for `-target bpf` and for the host, and Swift
// imports it (the CHolonFields module) without linking libbpf.
#ifndef HOLON_FIELDS_H
#define HOLON_FIELDS_H

#include <linux/types.h>

// Which packets have a field. A field a packet lacks reads as absent everywhere (nil in Swift,
// its `present` bit clear in XDP) and every predicate on it is false. The order is also the
// encoder's walk order: groups in this order, fields by id within a group.
enum holon_carrier {
    HOLON_CARRY_IP = 0,        /* every parsed IPv4/IPv6 packet */
    HOLON_CARRY_PORTS = 1,     /* a TCP or UDP header (not later fragments) */
    HOLON_CARRY_TCP = 2,       /* a TCP header */
    HOLON_CARRY_ICMP = 3,      /* an ICMP or ICMPv6 header */
    HOLON_CARRY_FILTER = 4,    /* set by where the filter runs, not by the packet (direction) */
};

// Size classes over the IP length (IPv4 total length, IPv6 payload length + 40): class k holds
// lengths up to HOLON_SIZE_MAX_k, the last class everything longer.
#define HOLON_SIZE_MAX_0 64
#define HOLON_SIZE_MAX_1 128
#define HOLON_SIZE_MAX_2 256
#define HOLON_SIZE_MAX_3 512
#define HOLON_SIZE_MAX_4 1024
#define HOLON_SIZE_MAX_5 1500
#define HOLON_SIZE_CLASSES 7

// Port bands (IANA): well-known below 1024, registered below 49152, then ephemeral.
#define HOLON_PORT_REGISTERED 1024
#define HOLON_PORT_EPHEMERAL 49152
#define HOLON_PORT_BANDS 3

// The table: X(NAME, id, "name", max value, carrier). Ids are explicit because they are the
// field slots of the XDP program and of compiled rules; rule fields are 0 … HOLON_F_RULE_FIELDS-1.
#define HOLON_FIELD_TABLE(X) \
    X(PROTO,          0,  "proto",          0xFF,                    HOLON_CARRY_IP)     \
    X(SRC_IP,         1,  "src_ip",         0xFFFFFFFFFFFFFFFFull,   HOLON_CARRY_IP)     \
    X(DST_IP,         2,  "dst_ip",         0xFFFFFFFFFFFFFFFFull,   HOLON_CARRY_IP)     \
    X(SRC_PORT,       3,  "src_port",       0xFFFF,                  HOLON_CARRY_PORTS)  \
    X(DST_PORT,       4,  "dst_port",       0xFFFF,                  HOLON_CARRY_PORTS)  \
    X(TCP_FLAGS,      5,  "tcp_flags",      0xFF,                    HOLON_CARRY_TCP)    \
    X(TTL,            6,  "ttl",            0xFF,                    HOLON_CARRY_IP)     \
    X(DF,             7,  "df",             1,                       HOLON_CARRY_IP)     \
    X(MF,             8,  "mf",             1,                       HOLON_CARRY_IP)     \
    X(FRAG_OFFSET,    9,  "frag_offset",    0x1FFF,                  HOLON_CARRY_IP)     \
    X(IP_ID,          10, "ip_id",          0xFFFFFFFF,              HOLON_CARRY_IP)     \
    X(IP_LEN,         11, "ip_len",         0xFFFFFFFF,              HOLON_CARRY_IP)     \
    X(TCP_WINDOW,     12, "tcp_window",     0xFFFF,                  HOLON_CARRY_TCP)    \
    X(DSCP,           13, "dscp",           63,                      HOLON_CARRY_IP)     \
    X(ECN,            14, "ecn",            3,                       HOLON_CARRY_IP)     \
    X(ICMP_TYPE,      15, "icmp_type",      0xFF,                    HOLON_CARRY_ICMP)   \
    X(ICMP_CODE,      16, "icmp_code",      0xFF,                    HOLON_CARRY_ICMP)   \
    X(PAYLOAD_LEN,    17, "payload_len",    0xFFFFFFFF,              HOLON_CARRY_IP)     \
    X(SIZE_CLASS,     18, "size_class",     HOLON_SIZE_CLASSES - 1,  HOLON_CARRY_IP)     \
    X(SRC_PORT_BAND,  19, "src_port_band",  HOLON_PORT_BANDS - 1,    HOLON_CARRY_PORTS)  \
    X(DST_PORT_BAND,  20, "dst_port_band",  HOLON_PORT_BANDS - 1,    HOLON_CARRY_PORTS)  \
    X(DIRECTION,      21, "direction",      1,                       HOLON_CARRY_FILTER) \
    X(TCP_URGENT_PTR, 22, "tcp_urgent_ptr", 0xFFFF,                  HOLON_CARRY_TCP)

#define HOLON_F_RULE_FIELDS 23

// Field slots: the table's fields, then the raw address views prefix predicates need (an IPv4
// prefix tests the 32-bit address and exists only on IPv4 packets; an IPv6 prefix tests the two
// 64-bit halves, only on IPv6 packets), while `src_ip`/`dst_ip` hold `IPAddress.fieldValue`.
enum holon_field {
#define HOLON_FIELD_ID(NAME, id, name, max, carrier) HOLON_F_##NAME = id,
    HOLON_FIELD_TABLE(HOLON_FIELD_ID)
#undef HOLON_FIELD_ID
    HOLON_F_SRC_V4 = HOLON_F_RULE_FIELDS,
    HOLON_F_DST_V4, HOLON_F_SRC_V6_HI, HOLON_F_SRC_V6_LO, HOLON_F_DST_V6_HI, HOLON_F_DST_V6_LO,
    /* The payload window a shape keys on (holon_shape.poff/plen), read for that shape only. */
    HOLON_F_PAYLOAD_KEY,
    HOLON_F_COUNT
};
#define HOLON_F_SLOTS 32 /* power of two ≥ HOLON_F_COUNT: field indexes are masked with 31 */

// Lookups by id, for Swift (which cannot expand the table) and tests. Unknown ids: NULL / 0.
static inline const char *holon_field_name(__u32 id)
{
    switch (id) {
#define HOLON_FIELD_NAME(NAME, id, name, max, carrier) case id: return name;
    HOLON_FIELD_TABLE(HOLON_FIELD_NAME)
#undef HOLON_FIELD_NAME
    default: return 0;
    }
}

static inline __u64 holon_field_max(__u32 id)
{
    switch (id) {
#define HOLON_FIELD_MAX(NAME, id, name, max, carrier) case id: return max;
    HOLON_FIELD_TABLE(HOLON_FIELD_MAX)
#undef HOLON_FIELD_MAX
    default: return 0;
    }
}

static inline __u32 holon_field_carrier(__u32 id)
{
    switch (id) {
#define HOLON_FIELD_CARRIER(NAME, id, name, max, carrier) case id: return carrier;
    HOLON_FIELD_TABLE(HOLON_FIELD_CARRIER)
#undef HOLON_FIELD_CARRIER
    default: return HOLON_CARRY_FILTER;
    }
}

// Size class of an IP length and port band of a port: the XDP parser's and Swift's.
static inline __u32 holon_size_class(__u32 ip_len)
{
    return ip_len <= HOLON_SIZE_MAX_0 ? 0 : ip_len <= HOLON_SIZE_MAX_1 ? 1 : ip_len <= HOLON_SIZE_MAX_2 ? 2
         : ip_len <= HOLON_SIZE_MAX_3 ? 3 : ip_len <= HOLON_SIZE_MAX_4 ? 4 : ip_len <= HOLON_SIZE_MAX_5 ? 5 : 6;
}

static inline __u32 holon_port_band(__u16 port)
{
    return port < HOLON_PORT_REGISTERED ? 0 : port < HOLON_PORT_EPHEMERAL ? 1 : 2;
}

#endif
