using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>The contract comparison itself: each rule it enforces, shown failing on a response that breaks it.</summary>
public sealed class JsonShapeTests
{
    private static JsonNode Parse(string json) => JsonNode.Parse(json)!;

    [Fact]
    public void AnIdenticalShapeWithOtherValuesMatches()
    {
        var differences = JsonShape.Differences(
            Parse("""{"id":"1857156b526dd8","created_at":"2023-11-08T01:52:30Z","n":1,"ok":true}"""),
            Parse("""{"id":"0123456789abcd","created_at":"2026-01-01T00:00:00Z","n":7,"ok":false}"""));

        Assert.Empty(differences);
    }

    [Fact]
    public void AMissingPropertyIsReported()
    {
        var differences = JsonShape.Differences(Parse("""{"error":"x","status":"name_taken"}"""), Parse("""{"error":"x"}"""));

        Assert.Equal(["$.status: missing"], differences);
    }

    [Fact]
    public void AnotherJsonKindIsReported()
    {
        var differences = JsonShape.Differences(Parse("""{"size_gb":10}"""), Parse("""{"size_gb":"10"}"""));

        Assert.Equal(["$.size_gb: expected number, got string"], differences);
    }

    [Fact]
    public void AnExtraPropertyIsReportedUnlessTheSchemaHasIt()
    {
        var fixture = Parse("""{"id":"jlyv9r5d56v18xrg","name":"a"}""");
        var response = Parse("""{"id":"abcdefghabcdefgh","name":"b","status":"pending","bogus":1}""");

        Assert.Equal(["$.status: not in the fixture", "$.bogus: not in the fixture"], JsonShape.Differences(fixture, response));
        Assert.Equal(["$.bogus: not in the fixture nor in the API schema"], JsonShape.Differences(fixture, response, Fixtures.OpenApi.Named("App")));
    }

    [Fact]
    public void NestedDifferencesAreFoundThroughSchemaReferences()
    {
        var fixture = Parse("""{"config":{"guest":{"cpus":1}}}""");
        var response = Parse("""{"config":{"guest":{"cpus":1,"memory_mb":256,"colour":"red"}}}""");

        Assert.Equal(["$.config.guest.colour: not in the fixture nor in the API schema"], JsonShape.Differences(fixture, response, Fixtures.OpenApi.Named("Machine")));
    }

    [Fact]
    public void MapsNeedNotHaveTheFixturesKeys()
    {
        var fixture = Parse("""{"image_ref":{"labels":{"org.opencontainers.image.version":"22.04"}}}""");
        var response = Parse("""{"image_ref":{"labels":{}}}""");

        Assert.Empty(JsonShape.Differences(fixture, response, Fixtures.OpenApi.Named("Machine")));
        Assert.Equal(["$.image_ref.labels.org.opencontainers.image.version: missing"], JsonShape.Differences(fixture, response));
    }

    [Theory]
    [InlineData("1857156b526dd8", "1857156B526DD8", "machine id")]
    [InlineData("1857156b526dd8", "1857156b526dd", "machine id")]
    [InlineData("01HEPA330HZ37A78TK080NAK1M", "01hepa330hz37a78tk080nak1m", "ULID")]
    [InlineData("2023-11-08T01:52:30Z", "2023-11-08 01:52:30", "RFC 3339 time")]
    [InlineData("2023-09-01T19:47:14.774Z", "2023-09-01T19:47:14Z", "RFC 3339 time with fraction")]
    [InlineData("vol_9vw681egy1jj5xm4", "volume-1", "volume id")]
    [InlineData("5c35f65c9f95", "nonce", "lease nonce")]
    [InlineData("fdaa:0:3ec2:a7b:5bd4:9fa:e7b7:2", "localhost", "IP address")]
    public void AValueInAnotherFormatIsReported(string fixtureValue, string responseValue, string format)
    {
        var differences = JsonShape.Differences(new JsonObject { ["v"] = fixtureValue }, new JsonObject { ["v"] = responseValue });

        Assert.Contains(format, Assert.Single(differences), StringComparison.Ordinal);
    }

    [Fact]
    public void UnixMillisecondsAndSecondsAreNotInterchangeable()
    {
        var differences = JsonShape.Differences(Parse("""{"timestamp":1699408350300}"""), Parse("""{"timestamp":1699408350}"""));

        Assert.Contains("milliseconds", Assert.Single(differences), StringComparison.Ordinal);
    }

    [Fact]
    public void NullInTheFixtureAcceptsAnyKind()
    {
        Assert.Empty(JsonShape.Differences(Parse("""{"env":null}"""), Parse("""{"env":{"A":"1"}}""")));
    }

    [Fact]
    public void ArrayElementsMustEachMatchSomeFixtureElementAndTheFirstMustBeRepresented()
    {
        var fixture = Parse("""[{"type":"exit","request":{"exit_event":{}}},{"type":"launch"}]""");

        Assert.Empty(JsonShape.Differences(fixture, Parse("""[{"type":"exit","request":{"exit_event":{}}},{"type":"launch"}]""")));
        Assert.Contains(JsonShape.Differences(fixture, Parse("""[{"type":"launch"}]""")), d => d.Contains("first element", StringComparison.Ordinal));
        Assert.Contains(JsonShape.Differences(fixture, Parse("[]")), d => d.Contains("non-empty", StringComparison.Ordinal));
        Assert.NotEmpty(JsonShape.Differences(fixture, Parse("""[{"type":"exit","request":{"exit_event":{}}},{"kind":"x"}]""")));
    }
}
