@testable import BaselineLab
import Traffic
import Foundation
import Testing

@Suite struct PeopleTests {
    @Test func theCastFollowsTheSeedsEngineMix() {
        let mix = Persona.engineMix(23, available: Set(Engine.allCases))
        let count = Dictionary(grouping: mix, by: { $0 }).mapValues(\.count)
        #expect(count[.chromium] == 19 && count[.webkit] == 3 && count[.firefox] == 1)
        // A few people still get every engine; a missing engine's people go to the others.
        #expect(Set(Persona.engineMix(4, available: Set(Engine.allCases))) == Set(Engine.allCases))
        #expect(Set(Persona.engineMix(23, available: [.chromium, .firefox])) == [.chromium, .firefox])
        #expect(Persona.engineMix(5, available: [.webkit]) == Array(repeating: .webkit, count: 5))
    }

    @Test func theCastIsReproducibleAndHasTheAccounts() {
        let a = Persona.cast(readers: 20, editors: 3, seed: 15, engines: Set(Engine.allCases))
        let b = Persona.cast(readers: 20, editors: 3, seed: 15, engines: Set(Engine.allCases))
        #expect(a == b)
        #expect(a.filter { $0.kind == .editor }.map(\.account.login) == ["editor1", "editor2", "editor3"])
        #expect(Set(a.filter { $0.kind == .reader }.map(\.account.login)).count == 20)
        #expect(Persona.cast(readers: 20, editors: 3, seed: 16, engines: Set(Engine.allCases)) != a)
    }

    @Test func theMarkovPolicyIsSeededAndRespectsState() {
        let p = Persona.cast(readers: 1, editors: 1, seed: 3, engines: [.chromium])
        func walk(_ persona: Persona) -> [AgentAction] {
            var rng = SplitMix64(seed: 9)
            var prev: AgentAction?
            var out: [AgentAction] = []
            for step in 0..<200 {
                let a = MarkovPolicy().next(PolicyContext(persona: persona, previous: prev, pageTitle: "", url: "",
                                                          loggedIn: persona.kind == .editor ? step > 0 : false,
                                                          onPost: prev == .readPost, step: step), rng: &rng)
                out.append(a)
                prev = a
            }
            return out
        }
        let editor = walk(p[0]), reader = walk(p[1])
        #expect(editor == walk(p[0]))
        #expect(editor.first == .login && editor.contains(.writePost) && editor.contains(.moderate))
        #expect(!reader.contains(.writePost) && !reader.contains(.moderate))
        #expect(Set(reader).isSuperset(of: [.home, .readPost, .followLink, .search]))
    }

    @Test func thinkTimesAreHeavyTailedAndBounded() {
        let p = Persona.cast(readers: 1, editors: 0, seed: 1, engines: [.chromium])[0]
        var rng = SplitMix64(seed: 4)
        let t = ThinkTime()
        let xs = (0..<5000).map { _ in t.seconds(p, rng: &rng) }.sorted()
        #expect(xs.first! >= t.minimum * p.patience * 0.999 && xs.last! <= t.maximum)
        // Heavy tail: the 95th percentile is several times the median.
        #expect(xs[4750] > 3 * xs[2500])
    }

    @Test func theChatPolicyReadsAnOpenAIAnswerAndFallsBack() throws {
        let answer: [String: Any] = ["choices": [["message": ["role": "assistant", "content": "I would **search** now."]]]]
        #expect(ChatPolicy.parse(answer, allowed: [.home, .search]) == .search)
        #expect(ChatPolicy.parse(answer, allowed: [.home]) == nil)
        #expect(ChatPolicy.parse(["error": "x"], allowed: [.home]) == nil)
        #expect(throws: BaselineError.self) { try ChatPolicy(url: "https://example.org", model: "m") }
        // Nothing listens on port 9 of loopback: the Markov policy decides, the same as without a model.
        let c = try ChatPolicy(url: "http://127.0.0.1:9", model: "m", timeout: 1)
        #expect(c.basePath == "/v1")
        let p = Persona.cast(readers: 1, editors: 0, seed: 1, engines: [.chromium])[0]
        let ctx = PolicyContext(persona: p, previous: nil, pageTitle: "", url: "", loggedIn: false, onPost: false, step: 0)
        var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5)
        #expect(c.next(ctx, rng: &r1) == MarkovPolicy().next(ctx, rng: &r2))
    }

    @Test func theAccessLogSummaryCountsClientsKindsAndEngines() throws {
        let path = NSTemporaryDirectory() + "baseline-access-\(getpid()).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
        10.77.0.101 [t] "GET / HTTP/1.1" 200 40000 0.1 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36" https
        10.77.0.102 [t] "GET /wp-content/themes/x/style.css?ver=1 HTTP/1.1" 200 1000 0.0 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15" http
        10.77.0.103 [t] "POST /wp-comments-post.php HTTP/1.1" 302 5 0.2 "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0" https
        10.77.0.101 [t] "GET /wp-json/wp/v2/media?per_page=1 HTTP/1.1" 502 10 0.0 "Mozilla/5.0 HeadlessChrome/156.0.0.0" https

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let s = AccessLog.summarize(path)
        #expect(s.requests == 4 && s.distinctClients == 3 && s.bytes == 41015 && s.serverErrors == 1)
        #expect(s.byKind == ["page": 1, "css": 1, "comment": 1, "api": 1])
        #expect(s.byEngine == ["chromium": 2, "webkit": 1, "firefox": 1])
        #expect(s.byStatus == ["200": 2, "302": 1, "502": 1])
    }

    @Test func generatedImagesAreValidPNGs() {
        let png = GeneratedImage.png(width: 64, height: 32, seed: 7)
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // Every chunk's CRC matches, and the stream ends with IEND.
        var i = 8
        var types: [String] = []
        while i < png.count {
            let len = png[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
            let typed = png[(i + 4)..<(i + 8 + len)]
            let crc = png[(i + 8 + len)..<(i + 12 + len)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(GeneratedImage.crc32(Data(typed)) == crc)
            types.append(String(decoding: typed.prefix(4), as: UTF8.self))
            i += 12 + len
        }
        #expect(types == ["IHDR", "IDAT", "IEND"])
        #expect(GeneratedImage.png(width: 64, height: 32, seed: 7) == png)
    }
}
