import CHolonXDP
import CLibBPF

/// The XDP object's maps that user space touches, by name, with the layout each must have.
/// `XDPObjectTests` opens the embedded object (no root: opening parses, loading needs the
/// kernel) and fails when a map here disagrees with the C declaration in `maps.bpf.h`, so the
/// sizes below are the shared structs' own (`MemoryLayout` of the types from the shared
/// header), never numbers kept by hand.
public enum XDPMap: String, CaseIterable, Sendable, Hashable {
    case config
    case stats
    case ruleCounters = "rule_ctrs"
    case slotCounters = "slot_ctrs"
    case ruleSlots = "rule_slots"
    case buckets
    case allowV4 = "allow_v4"
    case allowV6 = "allow_v6"
    case samples
    case shapesOut = "shapes_out"
    /// Key → the first rule of its chain. `keys_out` before (key → the rule's index), which an
    /// earlier version's filter still has pinned (``LegacyKeys``).
    case headsOut = "heads_out"
    /// The same for shapes of up to `HOLON_SHORT_KEY_ELEMS` fields (`HOLON_KEYS_SHORT`), whose
    /// keys are hashed shorter.
    case shortHeadsOut = "short_heads_out"
    /// Bucketed shapes' keys with their heads, in a fixed array per generation (its lookup is
    /// inlined); a full bucket's further keys are in `short_heads_out`.
    case keyBucketsOut = "key_buckets_out"
    case rulesOut = "rules_out"
    case checksOut = "checks_out"

    /// libbpf's name, and the pin file's.
    public var name: String { rawValue }

    public var type: bpf_map_type {
        switch self {
        case .config: return BPF_MAP_TYPE_ARRAY
        case .stats: return BPF_MAP_TYPE_PERCPU_ARRAY
        case .ruleCounters: return BPF_MAP_TYPE_PERCPU_HASH
        case .slotCounters: return BPF_MAP_TYPE_PERCPU_ARRAY
        case .ruleSlots: return BPF_MAP_TYPE_HASH
        case .buckets: return BPF_MAP_TYPE_HASH
        case .allowV4, .allowV6: return BPF_MAP_TYPE_LPM_TRIE
        case .samples: return BPF_MAP_TYPE_RINGBUF
        case .shapesOut, .headsOut, .shortHeadsOut, .keyBucketsOut, .rulesOut, .checksOut: return BPF_MAP_TYPE_ARRAY_OF_MAPS
        }
    }

    public var keySize: Int {
        switch self {
        case .allowV4: return MemoryLayout<holon_lpm_v4>.size
        case .allowV6: return MemoryLayout<holon_lpm_v6>.size
        case .samples: return 0
        default: return MemoryLayout<UInt32>.size
        }
    }

    public var valueSize: Int {
        switch self {
        case .config: return MemoryLayout<holon_config>.size
        case .stats: return MemoryLayout<holon_stats>.size
        case .ruleCounters, .slotCounters: return MemoryLayout<holon_rule_counters>.size
        case .ruleSlots: return MemoryLayout<UInt32>.size
        case .buckets: return MemoryLayout<holon_bucket>.size
        case .allowV4, .allowV6: return MemoryLayout<UInt8>.size
        case .samples: return 0
        case .shapesOut, .headsOut, .shortHeadsOut, .keyBucketsOut, .rulesOut, .checksOut: return MemoryLayout<UInt32>.size   // a map fd
        }
    }

    /// The maps the loader builds for each table generation and swaps into the outer maps.
    public struct Inner: Sendable, Hashable {
        public var type: bpf_map_type
        public var name: String
        public var keySize: Int
        public var valueSize: Int
        public var flags: UInt32
        /// The size every inner map must have (the template's), where the verifier relies on
        /// it; nil where each generation's maps are sized to their table.
        public var entries: Int? = nil
    }

    /// For an outer map, the inner maps it holds (nil for the others).
    public var inner: Inner? {
        let innerFlag = UInt32(BPF_F_INNER_MAP)
        switch self {
        case .shapesOut: return Inner(type: BPF_MAP_TYPE_ARRAY, name: "holon_shapes", keySize: 4, valueSize: MemoryLayout<holon_shape>.size, flags: 0)
        case .headsOut: return Inner(type: BPF_MAP_TYPE_HASH, name: "holon_heads", keySize: MemoryLayout<holon_key>.size, valueSize: MemoryLayout<holon_rule>.size, flags: 0)
        case .shortHeadsOut: return Inner(type: BPF_MAP_TYPE_HASH, name: "holon_short_heads", keySize: MemoryLayout<holon_short_key>.size, valueSize: MemoryLayout<holon_rule>.size, flags: 0)
        case .keyBucketsOut: return Inner(type: BPF_MAP_TYPE_ARRAY, name: "holon_buckets", keySize: 4, valueSize: MemoryLayout<holon_key_bucket>.size, flags: 0,
                                              entries: Int(HOLON_KEY_BUCKETS))
        case .rulesOut: return Inner(type: BPF_MAP_TYPE_ARRAY, name: "holon_rules", keySize: 4, valueSize: MemoryLayout<holon_rule>.size, flags: innerFlag)
        case .checksOut: return Inner(type: BPF_MAP_TYPE_ARRAY, name: "holon_checks", keySize: 4, valueSize: MemoryLayout<holon_check>.size, flags: innerFlag)
        default: return nil
        }
    }
}
