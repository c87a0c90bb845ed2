import Traffic
import Foundation

/// Lets a language model behind an OpenAI-compatible chat endpoint (`POST /v1/chat/completions`,
/// as Ollama and llama.cpp's server expose) choose each person's next action. Used only when
/// configured (`holon baseline run --llm-endpoint http://127.0.0.1:11434 --llm-model NAME`);
/// whenever the model does not answer in time or names no known action, the seeded Markov
/// policy decides, so a slow or absent model never stops the people.
public struct ChatPolicy: ActionPolicy {
    public var endpoint: HTTPEndpoint
    public var basePath: String
    public var model: String
    public var fallback: any ActionPolicy
    public var timeout: Double

    /// `url` like `http://127.0.0.1:11434` or `http://127.0.0.1:8080/v1`; plain http on an
    /// address of this machine (the lab reaches nothing else).
    public init(url: String, model: String, fallback: any ActionPolicy = MarkovPolicy(), timeout: Double = 20) throws(BaselineError) {
        guard let u = URL(string: url), u.scheme == "http", let host = u.host else {
            throw .invalid("--llm-endpoint must be an http:// URL with an IPv4 address, e.g. http://127.0.0.1:11434 (got \(url))")
        }
        guard inet_pton_ok(host) else { throw .invalid("--llm-endpoint host must be an IPv4 address on this machine (got \(host))") }
        endpoint = HTTPEndpoint(host: host, port: u.port ?? 80)
        var path = u.path
        if path.hasSuffix("/") { path.removeLast() }
        basePath = path.hasSuffix("/v1") ? path : path + "/v1"
        self.model = model
        self.fallback = fallback
        self.timeout = timeout
    }

    /// The prompt: who the person is, where they are, which actions they may take.
    func messages(_ c: PolicyContext, allowed: [AgentAction]) -> [[String: String]] {
        let p = c.persona
        let system = """
        You decide what one visitor of a WordPress blog does next. You are \(p.account.displayName), a \(p.kind.rawValue) \
        who likes \(p.interests.joined(separator: " and ")). Answer with exactly one word from this list and nothing else: \
        \(allowed.map(\.rawValue).joined(separator: ", ")).
        """
        let user = """
        Page: "\(c.pageTitle)" (\(c.url)). Logged in: \(c.loggedIn ? "yes" : "no"). Last action: \(c.previous?.rawValue ?? "arrived"). \
        Step \(c.step). What next?
        """
        return [["role": "system", "content": system], ["role": "user", "content": user]]
    }

    /// The action the model names, or nil.
    func ask(_ c: PolicyContext, allowed: [AgentAction]) -> AgentAction? {
        let body: [String: Any] = ["model": model, "messages": messages(c, allowed: allowed), "temperature": 0.8, "max_tokens": 8, "stream": false]
        guard let r = try? HTTPClient.json(endpoint, method: "POST", path: basePath + "/chat/completions", body: body, timeout: timeout),
              r.status == 200 else { return nil }
        return Self.parse(r.value, allowed: allowed)
    }

    /// The first allowed action named in the first choice's message.
    static func parse(_ value: Any?, allowed: [AgentAction]) -> AgentAction? {
        guard let choices = (value as? [String: Any])?["choices"] as? [[String: Any]],
              let text = (choices.first?["message"] as? [String: Any])?["content"] as? String else { return nil }
        let words = text.lowercased().split { !$0.isLetter }
        for w in words { if let a = allowed.first(where: { $0.rawValue.lowercased() == w }) { return a } }
        return nil
    }

    public func next(_ c: PolicyContext, rng: inout SplitMix64) -> AgentAction {
        // The fallback's choice is drawn first so the seeded sequence does not depend on the model.
        let fallbackChoice = fallback.next(c, rng: &rng)
        let allowed = c.persona.kind == .editor
            ? (c.loggedIn ? [.writePost, .moderate, .reply, .readPost, .home, .category] : [.login])
            : [AgentAction.home, .readPost, .followLink, .search, .paginate, .category] + (c.onPost ? [.comment] : []) + (c.loggedIn ? [] : [.login])
        return ask(c, allowed: allowed) ?? fallbackChoice
    }
}

func inet_pton_ok(_ host: String) -> Bool {
    var a = in_addr()
    return inet_pton(AF_INET, host, &a) == 1
}
