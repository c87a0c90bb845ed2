import ArgumentParser
import BaselineLab
import Foundation

struct BaselineRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Drive readers and editors in real browsers against the site.")
    func run() throws { throw InputError("holon baseline run: not built yet") }
}

struct BaselineCapture: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "capture", abstract: "Capture the baseline as the filter sees it (pcap).")
    func run() throws { throw InputError("holon baseline capture: not built yet") }
}
