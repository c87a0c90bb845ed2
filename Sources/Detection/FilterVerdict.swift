/// What the filter in front of the detector did with a sampled packet.
public enum FilterVerdict: Sendable, Hashable {
    /// No filter, or one that does not say (a capture being analysed).
    case unknown
    /// It let the packet through.
    case passed
    /// A rule dropped it (or rate-limited it away).
    case dropped
}
