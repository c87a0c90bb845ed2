import Foundation
import Holon

/// Which drift signal opens an incident (issue 13: a subspace residual as a second drift signal).
public enum DriftSignal: String, Sendable, CaseIterable {
    /// `1 − cosine(recent window, baseline)`: the detector's signal since the start.
    case cosine
    /// The window's squared residual from a subspace of the warmup's windows (``SubspaceDrift``).
    case residual
    /// Either crossing its open line opens; re-arming waits for both to be below their close lines.
    case both
}

/// A second drift signal: how far the recent window's *direction* lies from the span of
/// directions the warmup's windows took.
///
/// What it learns: every tick of the warmup (after its first quarter, when the window has
/// filled), the recent accumulator's sums scaled to unit length — the same vector the cosine
/// drift compares with the baseline, so the two signals see the same thing. An
/// ``OnlineSubspace`` (CCIPCA) of rank `k` learns the stream; its mean is then about the
/// baseline's direction, and its components the directions normal windows wander in (a mix
/// that breathes: more DNS one second, more web the next).
///
/// The signal: `‖x̂ − mean − projection‖²` of each window. For unit vectors
/// `‖x̂ − b̂‖² = 2(1 − cos)`, so with no components it is twice the cosine drift; the components
/// take out the ways normal windows vary, so an attack — a direction normal traffic never took —
/// stands out of a smaller noise. Squared, so sampling noise scales like the drift's (∝ 1/samples
/// in the window) and the same ``DriftLines`` formula and ``Detector/currentNoiseScale`` apply.
///
/// Calibration: residuals of the warmup's second half, each measured *before* the model learned
/// that window (prequential: never a window's own fit), through ``DriftLines`` with the drift's
/// sigmas. The model is frozen when warmup ends (the cosine baseline adapts afterwards; this
/// one does not — a limitation the experiment reports).
struct SubspaceDrift {
    var model: OnlineSubspace
    var calibration = RunningStats()
    var open = Double.infinity
    var close = Double.infinity
    var lastResidual = 0.0
    /// `μ·b̂` and `‖μ − (μ·b̂) b̂‖` for the baseline direction `b̂` whose norm was `alignedTo`
    /// (recomputed when the baseline moves): with them the cosine drift bounds the residual
    /// for free (``bound(cosine:)``).
    var alignedTo = -1.0
    var alpha = 0.0
    var perpendicular = 0.0
    /// False when `lastResidual` is only the bound `‖x̂ − μ‖²` (see ``reading(_:below:)``).
    var exact = true
    /// Frozen at the end of warmup: the model's mean and orthonormal basis in `Float` lanes
    /// (`frozen` holds the mean, then each basis vector), `‖mean‖²` and each `mean · bᵢ`. A
    /// reading is then one pass over the window's sums, no allocation (see ``reading(_:)``).
    var frozen: [Float] = []
    var rank = 0
    var meanSquared = 0.0
    var meanAlong: [Double] = []
    var along: [Double] = []
    var x: [Double]

    init(dimension: Int, rank: Int) {
        // Warmup of the model itself: 2·rank windows before its residuals count.
        model = OnlineSubspace(dimension: dimension, rank: rank, warmup: 2 * rank)
        x = [Double](repeating: 0, count: dimension)
    }

    var isFrozen: Bool { !frozen.isEmpty }

    /// `sums / ‖sums‖` into `x`; false for an empty window.
    mutating func load(_ window: Accumulator) -> Bool {
        var n2 = 0.0
        // The lanes: the sums over one positive scale, the same direction.
        window.withLanes { s, _ in
            for i in 0..<s.count { let v = Double(s[i]); x[i] = v; n2 += v * v }
        }
        guard n2 > 0 else { return false }
        let f = 1 / n2.squareRoot()
        for i in x.indices { x[i] *= f }
        return true
    }

    /// A warmup tick: the window is learned; in the calibrating half its residual (before it is
    /// learned) is recorded.
    mutating func learn(_ window: Accumulator, calibrating: Bool) {
        guard load(window) else { return }
        if calibrating && model.count >= model.warmup {
            let r = model.residual(x)
            calibration.add(r * r)
        }
        model.update(x)
    }

    /// End of warmup: freeze the model and draw the lines.
    mutating func freeze(openSigmas: Double, closeSigmas: Double) {
        let mean = model.mean, basis = model.basis
        rank = basis.count
        frozen = (mean + basis.joined()).map { Float($0) }
        meanSquared = mean.reduce(0) { $0 + $1 * $1 }
        meanAlong = basis.map { b in zip(mean, b).reduce(0) { $0 + $1.0 * $1.1 } }
        along = [Double](repeating: 0, count: rank)
        if calibration.count > 1 {
            let lines = DriftLines(calibration: calibration, openSigmas: openSigmas, closeSigmas: closeSigmas)
            (open, close) = (lines.open, lines.close)
        }
    }

    mutating func align(to baseline: Accumulator, norm: Double) {
        guard !frozen.isEmpty, norm > 0 else { return }
        alignedTo = norm
        var dot = 0.0
        baseline.withLanes { b, scale in
            for i in 0..<b.count { dot += Double(b[i]) * Double(frozen[i]) }
            dot *= scale
        }
        alpha = dot / norm
        perpendicular = max(0, meanSquared - alpha * alpha).squareRoot()
    }

    /// An upper bound of `‖x̂ − μ‖²` (so of the residual) from the window's cosine `c` with the
    /// baseline alone: `x̂·μ = α c + x̂·μ⊥ ≥ α c − ‖μ⊥‖ √(1 − c²)`, since `μ⊥ ⊥ b̂`.
    func bound(cosine c: Double) -> Double {
        1 - 2 * alpha * c + 2 * perpendicular * max(0, 1 - c * c).squareRoot() + meanSquared
    }

    /// The window's squared residual from the frozen model (0 for an empty window).
    ///
    /// With `x̂ = s/‖s‖`: `‖x̂ − μ‖² = 1 − 2 (s·μ)/‖s‖ + ‖μ‖²` and each coordinate
    /// `cᵢ = (s·bᵢ)/‖s‖ − μ·bᵢ`, so `‖s‖²`, `s·μ` and the `s·bᵢ` — one pass over the sums —
    /// give `‖x̂ − μ‖² − Σ cᵢ²`.
    ///
    /// `‖x̂ − μ‖²` (the first two sums) bounds the residual from above. When the bound is already
    /// at or below `below` — the close line at the current noise scale, the lowest line the
    /// reading is compared with — the `k` projections cannot change any decision and are skipped:
    /// the reading is then the bound. Normal windows mostly end there: 2 multiply-adds a lane
    /// instead of `k + 2` (`holon bench detect` would otherwise lose ~10 % of its packet rate).
    mutating func reading(_ window: Accumulator, below: Double = -1) -> Double {
        guard !frozen.isEmpty else { lastResidual = 0; return 0 }
        let d = window.dimension, k = rank
        var ss = 0.0, sm = 0.0
        var skipped = true
        // The lanes, not the sums: every term below is over ‖s‖, so the scale cancels.
        window.withLanes { sp, _ in
            frozen.withUnsafeBufferPointer { fp in
                along.withUnsafeMutableBufferPointer { ap in
                    let s = sp.baseAddress!, f = fp.baseAddress!
                    var vss = SIMD8<Float>(), vsm = SIMD8<Float>()
                    var j = 0
                    while j + 8 <= d {
                        let v = UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self)
                        vss += v * v
                        vsm += v * UnsafeRawPointer(f + j).loadUnaligned(as: SIMD8<Float>.self)
                        j += 8
                    }
                    ss = Double(vss.sum()); sm = Double(vsm.sum())
                    while j < d { ss += Double(s[j] * s[j]); sm += Double(s[j] * f[j]); j += 1 }
                    if ss > 0 && 1 - 2 * sm / ss.squareRoot() + meanSquared <= below { return }
                    skipped = false
                    for i in 0..<k {
                        let b = f + (i + 1) * d
                        var acc = SIMD8<Float>()
                        j = 0
                        while j + 8 <= d {
                            acc += UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self)
                                * UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<Float>.self)
                            j += 8
                        }
                        var c = Double(acc.sum())
                        while j < d { c += Double(s[j] * b[j]); j += 1 }
                        ap[i] = c
                    }
                }
            }
        }
        guard ss > 0 else { lastResidual = 0; exact = true; return 0 }
        let norm = ss.squareRoot()
        var r2 = 1 - 2 * sm / norm + meanSquared
        exact = !skipped
        if skipped { lastResidual = max(0, r2); return lastResidual }
        for i in 0..<k {
            let c = along[i] / norm - meanAlong[i]
            r2 -= c * c
        }
        lastResidual = max(0, r2)
        return lastResidual
    }
}

extension Detector {
    /// Per tick: learn (warmup) or read (armed) the subspace signal. No-op unless
    /// ``DetectorConfig/driftSignal`` asks for it.
    mutating func subspaceTick(_ t: UInt64, start: UInt64) {
        guard config.driftSignal != .cosine else { return }
        if subspace == nil { subspace = SubspaceDrift(dimension: config.dimension, rank: config.subspaceRank) }
        let warm = DetectorConfig.ns(config.warmup)
        if phase == .warmup {
            if t >= start &+ warm / 4 { subspace!.learn(recent, calibrating: t >= start &+ warm / 2) }
        } else {
            if !subspace!.isFrozen { subspace!.freeze(openSigmas: config.openSigmas, closeSigmas: config.closeSigmas) }
            // Armed, a tick asks only whether the open line is crossed (the close line only under
            // a surge: ``exactReading()``); settling asks about the close line.
            let below = (phase == .armed ? subspace!.open : subspace!.close) * currentNoiseScale
            if subspace!.alignedTo != baselineNorm { subspace!.align(to: baseline.accumulator, norm: baselineNorm) }
            // Mostly the cosine already shows the window is within the line: no pass at all.
            let bound = subspace!.bound(cosine: 1 - lastDrift)
            if bound + 1e-6 <= below {
                subspace!.lastResidual = bound
                subspace!.exact = false
            } else {
                _ = subspace!.reading(recent, below: below)
            }
        }
    }

    /// Whether the signals in use are above their open lines (each scaled by the noise factor).
    func aboveOpen(drift: Double, line: Double) -> Bool {
        switch config.driftSignal {
        case .cosine: return drift > line
        case .residual: return subspaceAbove(open: true) ?? (drift > line)
        case .both: return drift > line || subspaceAbove(open: true) == true
        }
    }

    /// Whether the signals in use are at or above their close lines (abnormal still).
    func aboveClose(drift: Double, line: Double) -> Bool {
        switch config.driftSignal {
        case .cosine: return drift >= line
        case .residual: return subspaceAbove(open: false) ?? (drift >= line)
        case .both: return drift >= line || subspaceAbove(open: false) == true
        }
    }

    /// Makes the last reading exact if it was only a bound (a surge asks about the close line
    /// while armed, where the bound was drawn against the open line).
    mutating func exactReading() {
        guard config.driftSignal != .cosine, subspace?.exact == false else { return }
        _ = subspace!.reading(recent)
    }

    /// nil while the subspace has no lines (a restored detector, a warmup too short to calibrate).
    func subspaceAbove(open: Bool) -> Bool? {
        guard let s = subspace, s.open.isFinite else { return nil }
        return s.lastResidual > (open ? s.open : s.close) * noiseScale
    }

    /// The subspace signal's last reading and lines (nil unless in use).
    public var subspaceReading: (residual: Double, open: Double, close: Double)? {
        subspace.map { ($0.lastResidual, $0.open, $0.close) }
    }
}
