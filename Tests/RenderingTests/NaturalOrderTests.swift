import Rendering
import Testing

/// Groups, new keys and left-over notes are listed in the order a person expects: case, accents and
/// width aside, numbers by value, the exact text only to break a tie.
@Suite("Natural order")
struct NaturalOrderTests {
    @Test func namesAndKeysSortAsPeopleReadThem() {
        let texts = [
            "OPS-10", "Zoe", "ops-1", "a2b10", "OPS-9", "Émile", "None", "emma", "8", "a2b9", "007", "OPS-1", "ＡＢＣ",
        ]
        #expect(
            texts.naturallySorted() == [
                "007", "8", "a2b9", "a2b10", "ＡＢＣ", "Émile", "emma", "None", "OPS-1", "ops-1", "OPS-9", "OPS-10",
                "Zoe",
            ])
        #expect(["b", "a", "b"].naturallySorted() == ["a", "b", "b"])
        #expect(NaturalOrder("OPS-0009") < NaturalOrder("OPS-10") && !(NaturalOrder("x") < NaturalOrder("x")))
    }
}
