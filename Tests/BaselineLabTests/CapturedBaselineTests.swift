import Foundation
import TestSupport
import Testing

/// The detector on traffic nobody shaped for it: `Fixtures/baseline-23-people.pcap` is four
/// minutes of the baseline lab (20 readers and 3 editors in Chromium, WebKitGTK and Firefox, from
/// 23 addresses) as `holon baseline capture` recorded it on the filter's interface, headers only
/// (96 bytes a packet). `holon analyze` must find no incident in it.
@Suite(.ownThread) struct CapturedBaselineTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/baseline-23-people.pcap").path

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: Tools.holon), "needs the holon binary beside the tests"))
    func realBrowsersCaptureRaisesNoIncident() throws {
        let r = try Tools.run(Tools.holon, ["analyze", Self.fixture, "--warmup", "30s", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(o["warmed_up"] as? Bool == true)
        #expect((o["packets"] as? Int ?? 0) > 30_000)
        #expect((o["incidents"] as? [Any])?.isEmpty == true, "false incidents on the baseline: \(o["incidents"] ?? "-")")
    }
}
