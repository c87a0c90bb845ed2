// A parent for SpawnTests to kill: starts `/bin/sleep 300` as a ChildProcess (with the death
// signal given as the first argument, default SIGTERM), prints the child's pid, and waits to be
// killed. What a `holon bench soak` with its `holon run` children is, without root or a lab.
import Foundation
import Glibc
import Spawn

let signal = CommandLine.arguments.dropFirst().first.flatMap { Int32($0) } ?? SIGTERM
do {
    let child = try ChildProcess("/bin/sleep", ["300"], deathSignal: signal)
    FileHandle.standardOutput.write(Data("\(child.pid)\n".utf8))
    while true { sleep(60) }
} catch {
    FileHandle.standardError.write(Data("spawn-probe: \(error)\n".utf8))
    exit(1)
}
