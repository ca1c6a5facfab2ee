using System.Text.Json;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Hostile input against every endpoint of the HTTP API over real HTTP: each request gets its 4xx problem details
/// (status, media type, type and, for validation errors, the field), none gets a 5xx, and afterwards the baseline
/// instance, workflow and run are as they were and nothing new exists.
/// </summary>
public sealed class HostileInputTests(HostileInputFixture fixture) : IClassFixture<HostileInputFixture>
{
    private const string Problems = "https://orchestrator.dev/problems/";

    public static TheoryData<string> Cases => new(HostileCases.All.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HostileRequestGetsItsProblem(string name)
    {
        var hostile = HostileCases.All[name];

        var (status, mediaType, body, request) = (await fixture.SuiteAsync()).Answers[name];

        var context = $"{request} answered {status} {mediaType}: {Shorten(body)}";
        if (hostile.DependsOn is { } feature)
        {
            context = $"[depends on {feature}] {context}";
        }

        if (status >= 500)
        {
            // The exception behind a 500 is in the silo's log, not in the generic problem body.
            context += "\n" + string.Join("\n", fixture.Silo.Log.Lines.Where(l => l.Contains(" | ", StringComparison.Ordinal)).TakeLast(3));
        }

        Assert.True(status == hostile.Status, $"expected {hostile.Status}; {context}");
        if (hostile.Type is null)
        {
            return;
        }

        Assert.True(mediaType == "application/problem+json", context);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.True(Problems + hostile.Type == problem.GetProperty("type").GetString(), context);
        Assert.Equal(hostile.Status, problem.GetProperty("status").GetInt32());
        if (hostile.Type == "validation")
        {
            Assert.True(problem.TryGetProperty("field", out var field) && field.GetString() == hostile.Field, $"expected field '{hostile.Field}'; {context}");
        }
    }

    [Fact]
    public async Task AfterTheSuiteNothingWasCreatedChangedOrLostAndNothingAnswered5xx()
    {
        // Waits for every hostile case to have been answered, whether or not the cases ran as tests first.
        var after = (await fixture.SuiteAsync()).After;

        var failures = fixture.Responses.Where(r => r.Status >= 500).Select(r => $"{r.Request} answered {r.Status}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(fixture.Before.Keys, after.Keys);
        foreach (var (fact, before) in fixture.Before)
        {
            Assert.True(before == after[fact], $"{fact} was '{before}' before the hostile requests and is '{after[fact]}' after them");
        }

        Assert.DoesNotContain(fixture.Silo.Log.Lines, l => l.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
    }

    private static string Shorten(string text) => text.Length > 600 ? text[..600] + "…" : text;
}
