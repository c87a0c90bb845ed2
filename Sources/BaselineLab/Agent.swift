import Traffic
import Foundation

/// One person at one browser: asks the policy what to do, does it through the page as a person
/// would (clicks the links and buttons the page shows, types into its forms, lets its own
/// scripts handle nonces), waits a heavy-tailed think time, and reports every page load.
final class Agent: @unchecked Sendable {
    let persona: Persona
    let session: BrowserSession
    let policy: any ActionPolicy
    let think: ThinkTime
    let stats: RunStats
    let base: String
    let scratch: String
    var rng: SplitMix64
    var loggedIn = false
    var onPost = false
    var title = ""
    var url = ""
    var uploads = 0

    init(persona: Persona, session: BrowserSession, policy: any ActionPolicy, think: ThinkTime, stats: RunStats,
         site: String, scratch: String) {
        self.persona = persona
        self.session = session
        self.policy = policy
        self.think = think
        self.stats = stats
        self.base = (persona.https ? "https://" : "http://") + site
        self.scratch = scratch
        self.rng = SplitMix64(seed: persona.seed)
    }

    /// Acts until `deadline` or `stop()` returns true.
    func live(until deadline: Date, stop: () -> Bool) {
        var previous: AgentAction?
        var step = 0
        // People do not all arrive in the same second.
        sleep(seconds: rng.unit() * min(10, think.maximum * think.pace / 4), until: deadline, stop: stop)
        while Date() < deadline && !stop() {
            let action = policy.next(PolicyContext(persona: persona, previous: previous, pageTitle: title, url: url,
                                                   loggedIn: loggedIn, onPost: onPost, step: step), rng: &rng)
            let ok = perform(action)
            stats.action(action, ok: ok)
            previous = action
            step += 1
            sleep(seconds: think.seconds(persona, rng: &rng), until: deadline, stop: stop)
        }
    }

    func sleep(seconds: Double, until deadline: Date, stop: () -> Bool) {
        let end = min(deadline, Date().addingTimeInterval(seconds))
        while Date() < end && !stop() { usleep(UInt32(min(200_000, max(1, end.timeIntervalSinceNow * 1e6)))) }
    }

    func perform(_ a: AgentAction) -> Bool {
        switch a {
        case .home: return load { try session.navigate(base + "/") }
        case .readPost: return clickOne(Scripts.postLinks) ?? load { try session.navigate(base + "/") }
        case .followLink: return clickOne(Scripts.siteLinks) ?? load { try session.navigate(base + "/") }
        case .paginate: return clickOne(Scripts.nextPage) ?? load { try session.navigate(base + "/page/2/") }
        case .category: return clickOne(Scripts.categoryLinks, prefer: persona.interests) ?? load { try session.navigate(base + "/") }
        case .search: return search()
        case .comment: return comment(reply: false)
        case .reply: return reply()
        case .login: return login()
        case .writePost: return writePost()
        case .moderate: return moderate()
        }
    }

    // MARK: page loads

    /// Runs `trigger` (a navigation or a click) and waits for the new page; records the load.
    @discardableResult
    func load(expectChange: Bool = false, _ trigger: () throws -> Void) -> Bool {
        let before = url
        let t0 = Date()
        do {
            try trigger()
            try waitForPage(changedFrom: expectChange ? before : nil)
            let info = try pageInfo()
            let seconds = Date().timeIntervalSince(t0)
            let status = info["status"] as? Int ?? 0
            let failed = (info["error"] as? Bool ?? false) || status >= 500
            stats.page(persona.kind, engine: persona.engine, seconds: seconds, failed: failed, status: status,
                       error: failed ? "\(persona.engine.rawValue) \(url): status \(status)" : nil)
            return !failed
        } catch {
            stats.page(persona.kind, engine: persona.engine, seconds: Date().timeIntervalSince(t0), failed: true, status: 0,
                       error: "\(persona.engine.rawValue) #\(persona.index) \(before): \(error)")
            return false
        }
    }

    /// Polls until the document is complete and, after a click, its address has changed. A form
    /// that answers at its own address (a login refused, a page reloaded) leaves the address as
    /// it was: after `sameAddressGrace` seconds a complete document at the old address counts as
    /// the answer.
    func waitForPage(changedFrom before: String?, timeout: Double = 60, sameAddressGrace: Double = 10) throws(BaselineError) {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if let r = try? session.execute("return [document.readyState, location.href];", []) as? [Any],
               r.count == 2, r[0] as? String == "complete", let href = r[1] as? String,
               before == nil || href != before || Date().timeIntervalSince(start) > sameAddressGrace {
                return
            }
            usleep(100_000)
        }
        throw .timeout("the page to load")
    }

    func pageInfo() throws(BaselineError) -> [String: Any] {
        let info = try session.execute(Scripts.pageInfo, []) as? [String: Any] ?? [:]
        url = info["url"] as? String ?? ""
        title = info["title"] as? String ?? ""
        onPost = info["post"] as? Bool ?? false
        if info["loggedIn"] as? Bool == true { loggedIn = true }
        return info
    }

    /// Clicks one of the elements `script` returns (weighted toward texts matching `prefer`);
    /// nil when the page has none.
    func clickOne(_ script: String, prefer: [String] = []) -> Bool? {
        guard let found = try? session.execute(script, []) as? [Any], !found.isEmpty else { return nil }
        let items = found.compactMap { $0 as? [String: Any] }.compactMap { d -> (ElementRef, String)? in
            guard let e = d["e"] as? ElementRef else { return nil }
            return (e, d["t"] as? String ?? "")
        }
        guard !items.isEmpty else { return nil }
        let liked = items.filter { item in prefer.contains { item.1.localizedCaseInsensitiveContains($0) } }
        let pool = !liked.isEmpty && rng.unit() < 0.7 ? liked : items
        let pick = pool[Int(rng.next() % UInt64(pool.count))].0
        return load(expectChange: true) {
            do { try session.click(pick) } catch {
                // Covered or off-screen: a person would scroll to it; the page's own click does the same.
                _ = try session.execute("arguments[0].click();", [pick])
            }
        }
    }

    // MARK: forms

    func search() -> Bool {
        let words = ["garden", "network", "bread", "river", "winter", "copper", "station", "market", "zeppelin"]
        let q = words[Int(rng.next() % UInt64(words.count))]
        if let box = try? session.find("input[name=s]").first {
            return load(expectChange: true) {
                try session.type(box, q + "\u{E007}")
            }
        }
        return load { try session.navigate(base + "/?s=" + q) }
    }

    func login() -> Bool {
        guard load({ try session.navigate(base + "/wp-login.php") }) else { return false }
        do {
            guard let user = try session.find("#user_login").first, let pass = try session.find("#user_pass").first,
                  let submit = try session.find("#wp-submit").first else { return false }
            // The browser may have filled the name in from an earlier visit.
            _ = try session.execute("arguments[0].value = '';", [user])
            try session.type(user, persona.account.login)
            try session.type(pass, persona.account.password)
            let ok = load(expectChange: true) { try session.click(submit) }
            loggedIn = ok && url.contains("/wp-admin")
            return loggedIn
        } catch { return false }
    }

    func comment(reply: Bool) -> Bool {
        if !onPost && !(clickOne(Scripts.postLinks) ?? false) { return false }
        do {
            if reply, let link = try session.find(".comment-reply-link").first {
                _ = try session.execute("arguments[0].click();", [link])   // the page's script moves the form
            }
            guard let box = try session.find("#comment").first, let submit = try session.find("#submit").first else { return false }
            if !loggedIn {
                if let name = try session.find("#author").first { try session.type(name, persona.account.displayName) }
                if let mail = try session.find("#email").first { try session.type(mail, persona.account.login + "@baseline.lab") }
            }
            try session.type(box, Text.sentence(&rng, words: 10 + Int(rng.next() % 20)) + " " + Text.sentence(&rng, words: 8))
            return load(expectChange: true) { try session.click(submit) }
        } catch { return false }
    }

    func reply() -> Bool {
        _ = load { try session.navigate(base + "/") }
        return comment(reply: true)
    }

    /// Uploads a generated image through the media page's plain uploader (a multipart form
    /// with the page's nonce), then writes and publishes a post in the block editor through the
    /// editor's own data store, which saves over the REST API with the page's nonce.
    func writePost() -> Bool {
        let file = "\(scratch)/upload-\(persona.index)-\(uploads).png"
        uploads += 1
        do { try GeneratedImage.png(seed: rng.next()).write(to: URL(fileURLWithPath: file)) } catch { return false }
        defer { try? FileManager.default.removeItem(atPath: file) }
        guard load({ try session.navigate(base + "/wp-admin/media-new.php?browser-uploader") }) else { return false }
        do {
            guard let input = try session.find("input[name=async-upload]").first, let button = try session.find("#html-upload").first else { return false }
            try session.type(input, file)
            guard load(expectChange: true, { try session.click(button) }) else { return false }
        } catch { return false }
        guard load({ try session.navigate(base + "/wp-admin/post-new.php") }) else { return false }
        let ready = Date().addingTimeInterval(60)
        while Date() < ready {
            if (try? session.execute(Scripts.editorReady, [])) as? Bool == true { break }
            usleep(250_000)
        }
        let title = Text.title(&rng)
        let paragraphs = (0..<(2 + Int(rng.next() % 4))).map { _ in Text.paragraph(&rng) }
        guard (try? session.execute(Scripts.publish, [title, paragraphs])) != nil else { return false }
        let done = Date().addingTimeInterval(60)
        while Date() < done {
            if let state = (try? session.execute("return window.__holonPublish || '';", [])) as? String, !state.isEmpty {
                guard state.hasPrefix("saved:") else {
                    stats.agentFailed("\(persona.engine.rawValue) editor #\(persona.index): publish: \(state)")
                    return false
                }
                let link = String(state.dropFirst("saved:".count))
                return load { try session.navigate(link) }
            }
            usleep(250_000)
        }
        return false
    }

    /// Approves a few comments waiting in the queue (the page's own AJAX link, with its nonce).
    func moderate() -> Bool {
        guard load({ try session.navigate(base + "/wp-admin/edit-comments.php?comment_status=moderated") }) else { return false }
        let n = (try? session.execute(Scripts.approve, [1 + Int(rng.next() % 3)])) as? Int ?? 0
        usleep(1_500_000)
        if n > 0 { return load { try session.navigate(base + "/wp-admin/edit-comments.php") } }
        return true
    }
}

/// Words for comments and posts, drawn from the person's generator.
enum Text {
    static let words = "packet network garden kitchen river mountain signal window morning bread tomato route filter harbor lantern winter summer market engine bridge station letter forest meadow copper silver thunder quiet rapid gentle careful bright distant early late small large open narrow steady fresh old new under over across beyond through between the a of and to in for with on at by from is was are were has had will can really think agree lovely".split(separator: " ")

    static func sentence(_ rng: inout SplitMix64, words n: Int) -> String {
        var w = (0..<max(3, n)).map { _ in String(words[Int(rng.next() % UInt64(words.count))]) }
        w[0] = w[0].prefix(1).uppercased() + w[0].dropFirst()
        return w.joined(separator: " ") + "."
    }

    static func paragraph(_ rng: inout SplitMix64) -> String {
        (0..<(3 + Int(rng.next() % 4))).map { _ in sentence(&rng, words: 8 + Int(rng.next() % 10)) }.joined(separator: " ")
    }

    static func title(_ rng: inout SplitMix64) -> String {
        (0..<(3 + Int(rng.next() % 3))).map { _ in String(words[Int(rng.next() % UInt64(words.count))]).capitalized }.joined(separator: " ")
    }
}
