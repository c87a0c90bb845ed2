/// What a person can do next.
public enum AgentAction: String, Sendable, Codable, CaseIterable, Hashable {
    // Readers (editors too, when they look at the site).
    case home, readPost, followLink, search, paginate, category, comment, login
    // Editors.
    case writePost, moderate, reply
}

/// What a policy is told before it chooses.
public struct PolicyContext: Sendable {
    public var persona: Persona
    public var previous: AgentAction?
    public var pageTitle: String
    public var url: String
    public var loggedIn: Bool
    /// Whether the page open now is a single post (so `comment` makes sense).
    public var onPost: Bool
    public var step: Int
}

/// Chooses each person's next action. The seeded ``MarkovPolicy`` is the default; a language
/// model can direct the people instead (``ChatPolicy``), with the Markov policy as its fallback.
public protocol ActionPolicy: Sendable {
    func next(_ context: PolicyContext, rng: inout SplitMix64) -> AgentAction
}

/// A Markov chain over actions: the next action depends on the last one, weighted by the
/// person's traits (talkative people comment more, editors spend their time in the admin).
public struct MarkovPolicy: ActionPolicy {
    public init() {}

    /// Transition weights from `previous` (nil: arriving).
    func weights(_ c: PolicyContext) -> [(AgentAction, Double)] {
        let p = c.persona
        if p.kind == .editor {
            if !c.loggedIn { return [(.login, 1)] }
            switch c.previous {
            case .writePost: return [(.moderate, 3), (.readPost, 2), (.home, 1), (.reply, 1)]
            case .moderate: return [(.reply, 2), (.writePost, 2), (.readPost, 2), (.home, 1)]
            default: return [(.writePost, 2), (.moderate, 2), (.readPost, 2), (.reply, 1), (.home, 1), (.category, 1)]
            }
        }
        let talk = p.talkativeness
        switch c.previous {
        case nil: return [(.home, 6), (.readPost, 1), (.category, 1)]
        case .home, .paginate, .category, .search:
            return [(.readPost, 6), (.paginate, 2), (.category, 1.5), (.search, 1), (.followLink, 1.5),
                    (.login, c.loggedIn ? 0 : 0.3)]
        case .readPost, .followLink, .comment, .reply:
            let onPost = c.onPost ? 1.0 : 0.0
            return [(.readPost, 3), (.followLink, 3), (.home, 1.5), (.category, 1), (.search, 0.7),
                    (.comment, c.previous == .comment ? 0 : 12 * talk * onPost), (.login, c.loggedIn ? 0 : 0.2)]
        case .login: return [(.home, 3), (.readPost, 1)]
        default: return [(.home, 1), (.readPost, 1)]
        }
    }

    public func next(_ c: PolicyContext, rng: inout SplitMix64) -> AgentAction {
        let w = weights(c).filter { $0.1 > 0 }
        let total = w.reduce(0) { $0 + $1.1 }
        var x = rng.unit() * total
        for (a, weight) in w {
            x -= weight
            if x < 0 { return a }
        }
        return w.last?.0 ?? .home
    }
}

/// Think times: how long a person stays on a page. Heavy-tailed (Pareto, α = 1.6): most visits
/// are short, a few are long reads, as in real browsing logs.
public struct ThinkTime: Sendable {
    /// Multiplies every wait (1 = human pace; tests use less to see more pages per minute).
    public var pace: Double
    public var minimum: Double = 2
    public var maximum: Double = 90

    public init(pace: Double = 1) { self.pace = pace }

    public func seconds(_ persona: Persona, rng: inout SplitMix64) -> Double {
        let u = max(rng.unit(), 1e-9)
        let pareto = minimum * pow(u, -1 / 1.6)
        return min(maximum, pareto * persona.patience) * pace
    }
}

import Traffic
import Foundation
