/// The generator's four state words, so a consumer that saves its work (a detector's reservoir
/// sampling) continues the same stream after a restart instead of reseeding into a repeat.
extension Xoshiro256 {
    /// The state words `s0…s3`.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// Continues from saved state words; nil unless there are four of them and not all zero
    /// (the all-zero state is a fixed point of xoshiro and never produced by seeding).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.init(seed: 0)
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }
}
