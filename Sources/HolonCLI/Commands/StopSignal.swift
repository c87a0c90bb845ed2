import CGeneratorShim

/// Ctrl-C handling for `holon generate`: while installed, SIGINT and SIGTERM set the generator's
/// stop flag (``Generator/GeneratorStop``), so the run finishes the current batch and still
/// reports, instead of the process being killed. Part of the command's lifecycle, not the
/// library's: the handler itself is C (it may only write a `sig_atomic_t`).
enum StopSignal {
    static func install() { hg_clear_stop(); hg_install_stop_handler() }
    static func restore() { hg_restore_default_handlers() }
}
