/// The systemd unit `holon service install` writes; `dist/holon.service` in the repository is
/// this text for the default paths (a test keeps them equal).
enum ServiceUnit {
    static func text(binary: String, config: String) -> String {
        """
        # Holon: XDP filter and live detection loop. Installed by `holon service install`.
        [Unit]
        Description=Holon DDoS mitigation (XDP filter and live loop)
        After=network-online.target
        Wants=network-online.target

        [Service]
        # Ready (sd_notify READY=1) once every interface is attached and its loop runs.
        Type=notify
        NotifyAccess=main
        ExecStartPre=\(binary) config check \(config)
        ExecStart=\(binary) run --config \(config)
        # Re-reads the file: allowlist, observe mode, static rules; what was learned stays.
        ExecReload=/bin/kill -HUP $MAINPID
        # SIGTERM stops the loop; the filter and its rules stay in the kernel.
        KillSignal=SIGTERM
        TimeoutStopSec=15
        Restart=on-failure
        RestartSec=2
        StateDirectory=holon
        RuntimeDirectory=holon
        RuntimeDirectoryPreserve=yes
        LimitMEMLOCK=infinity

        [Install]
        WantedBy=multi-user.target

        """
    }

    static let defaultBinary = "/usr/local/bin/holon"
    static let defaultConfig = "/etc/holon/holon.yaml"

    /// A configuration to start from, written when none exists, protecting `interface`
    /// (`why` says where that name came from).
    static func sampleConfig(interface: String, why: String) -> String {
        """
    # Holon configuration: `holon config check` validates it; `systemctl reload holon` re-reads it.
    interfaces:
      - name: \(interface)\(String(repeating: " ", count: max(1, 18 - interface.count)))# \(why)
    protected: []               # e.g. [198.51.100.0/24]: the networks defended (empty: every destination)
    allowlist: []               # sources never dropped: resolvers, BGP peers, monitoring
    # static_rules: /etc/holon/static.rules
    observe: true               # count what rules would drop; set false to enforce
    run:
      sample_every: 100
      warmup: 10s
      hold: 10s
      max_rules: 64
    http:
      listen: 127.0.0.1:9477    # off-host addresses need token or token_env
    log: text

    """
    }
}
