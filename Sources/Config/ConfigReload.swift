extension HolonConfig {
    /// What a reload (SIGHUP) makes of the running configuration. `file` is the configuration as
    /// a restart would run it now: the file read again, with the command line's flags over it (a
    /// flag wins over its key at a reload as at the start). From it the reload takes the policy —
    /// `allowlist`, `observe`, `static_rules`, and Flowspec's `observe` and `spare_allowlist` —
    /// and keeps everything else as it runs: thresholds, interfaces, listeners and speakers are
    /// taken at the start. `restart` names, as the file spells them, the keys whose new value
    /// waits for a restart, so that a reload never seems to have applied what it did not.
    public func reloaded(from file: HolonConfig) -> (config: HolonConfig, restart: [String]) {
        var next = self
        next.allowlist = file.allowlist
        next.observe = file.observe
        next.staticRules = file.staticRules
        if var b = bgp, let nb = file.bgp {
            b.observe = nb.observe
            b.spareAllowlist = nb.spareAllowlist
            next.bgp = b
        }
        var restart = Self.startOnlyKeys.filter { !$0.same(next, file) }.map(\.name)
        // A key added to HolonConfig but not to the list above still differs: said, unnamed.
        if restart.isEmpty && next != file { restart = ["(another key)"] }
        return (next, restart)
    }

    /// The keys a reload does not apply, each with how two configurations compare on it.
    private static let startOnlyKeys: [(name: String, same: @Sendable (HolonConfig, HolonConfig) -> Bool)] = [
        ("interfaces", { $0.interfaces == $1.interfaces }),
        ("protected", { $0.protected == $1.protected }),
        ("run.sample_every", { $0.sampleEvery == $1.sampleEvery }),
        ("run.warmup", { $0.warmup == $1.warmup }),
        ("run.hold", { $0.hold == $1.hold }),
        ("run.max_rules", { $0.maxRules == $1.maxRules }),
        ("run.dry_run", { $0.dryRun == $1.dryRun }),
        ("run.duration", { $0.duration == $1.duration }),
        ("http.listen", { $0.httpListen == $1.httpListen }),
        ("http.token", { $0.httpToken == $1.httpToken }),
        ("http.tls", { $0.httpTLS == $1.httpTLS }),
        ("log", { $0.log == $1.log }),
        ("baseline.directory", { $0.stateDirectory == $1.stateDirectory }),
        ("baseline.max_age", { $0.baselineMaxAge == $1.baselineMaxAge }),
        ("bgp", { ($0.bgp == nil) == ($1.bgp == nil) }),
        ("bgp.gobgp_api", { sameBGP($0, $1) { $0.gobgpHost == $1.gobgpHost && $0.gobgpPort == $1.gobgpPort } }),
        ("bgp.exabgp_feed", { sameBGP($0, $1) { $0.exabgpFeed == $1.exabgpFeed } }),
        ("bgp.max_announced", { sameBGP($0, $1) { $0.maxAnnounced == $1.maxAnnounced } }),
        ("bgp.packet_bytes", { sameBGP($0, $1) { $0.packetBytes == $1.packetBytes } }),
    ]

    /// A key of the bgp section compared where both have one (a section come or gone is `bgp`).
    private static func sameBGP(_ a: HolonConfig, _ b: HolonConfig, _ same: (BGP, BGP) -> Bool) -> Bool {
        guard let x = a.bgp, let y = b.bgp else { return true }
        return same(x, y)
    }
}
