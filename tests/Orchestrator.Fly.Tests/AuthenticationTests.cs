using Orchestrator.Testing;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>The token goes out in the form Fly expects and never comes back in an exception or a log line.</summary>
public sealed class AuthenticationTests
{
    private const string Macaroon = "fm2_lJPECAAAAAAAAMzYxBDhTestMacaroonSecretPart,fm2_lJPETestSecondMacaroonPart";

    [Theory]
    [InlineData("fo1_plain_token_value", "Bearer fo1_plain_token_value")]
    [InlineData("Bearer fo1_plain_token_value", "Bearer fo1_plain_token_value")]
    [InlineData("FlyV1 " + Macaroon, "FlyV1 " + Macaroon)]
    public async Task Token_is_sent_as_bearer_unless_it_is_a_flyv1_macaroon(string configured, string expectedHeader)
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "get-machine.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:ApiToken"] = configured);

        await host.Provider.GetMachineAsync(FlyClientHost.AppName, "73d8d46dbee589");

        Assert.Equal(expectedHeader, Assert.Single(server.Requests).Header("Authorization"));
    }

    [Fact]
    public async Task Token_from_FLY_API_TOKEN_is_used_when_the_section_has_none()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "get-machine.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress, s =>
        {
            s["Fly:ApiToken"] = "";
            s[FlyOptions.ApiTokenVariable] = "fo1_from_environment";
        });

        await host.Provider.GetMachineAsync(FlyClientHost.AppName, "73d8d46dbee589");

        Assert.Equal("Bearer fo1_from_environment", Assert.Single(server.Requests).Header("Authorization"));
    }

    [Theory]
    [InlineData(FlyClientHost.Token)]
    [InlineData("FlyV1 " + Macaroon)]
    public async Task Token_never_appears_in_exceptions_or_logs(string token)
    {
        // A hostile (or just chatty) server that echoes the credentials back in every error shape it can.
        await using var server = await FlyTestServer.StartAsync((context, request) =>
        {
            var auth = request.Header("Authorization") ?? "";
            var credential = auth[(auth.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            return request.Path switch
            {
                var p when p.EndsWith("/start", StringComparison.Ordinal) =>
                    FlyTestServer.Respond(context, 401, $$"""{"error":"Authenticate: token validation error for {{auth}}"}"""),
                var p when p.EndsWith("/stop", StringComparison.Ordinal) =>
                    FlyTestServer.Respond(context, 500, $"panic: bad credential {credential}"),
                var p when p.EndsWith("/lease", StringComparison.Ordinal) =>
                    FlyTestServer.Respond(context, 409, $$"""{"status":"error","message":"lease held by {{credential.Split(',')[^1]}}","code":"invalid"}"""),
                _ => FlyTestServer.Respond(context, 503, $$"""{"error":"unavailable {{auth}}"}"""),
            };
        });
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:ApiToken"] = token);
        var provider = host.Provider;

        var failures = new List<Exception>
        {
            await Assert.ThrowsAsync<FlyApiException>(() => provider.StartMachineAsync(FlyClientHost.AppName, "m1")),
            await Assert.ThrowsAsync<FlyApiException>(() => provider.StopMachineAsync(FlyClientHost.AppName, "m1")),
            await Assert.ThrowsAsync<FlyApiException>(() => provider.AcquireLeaseAsync(FlyClientHost.AppName, "m1", TimeSpan.FromSeconds(10))),
            await Assert.ThrowsAsync<FlyApiException>(() => provider.GetMachineAsync(FlyClientHost.AppName, "m1")),
        };

        // The server did see the token, so the test would notice any path that lets it through.
        Assert.All(server.Requests, r => Assert.Contains(token.Replace("FlyV1 ", "", StringComparison.Ordinal), r.Header("Authorization"), StringComparison.Ordinal));
        Assert.NotEmpty(host.Logs.Lines);
        foreach (var secret in SecretsOf(token))
        {
            Assert.All(failures, ex => Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal));
            Assert.All(failures, ex => Assert.DoesNotContain(secret, (ex as FlyApiException)?.FlyMessage ?? "", StringComparison.Ordinal));
            Assert.All(host.Logs.Lines, line => Assert.DoesNotContain(secret, line, StringComparison.Ordinal));
        }
    }

    private static IEnumerable<string> SecretsOf(string token)
    {
        var bare = token.Replace("FlyV1 ", "", StringComparison.Ordinal);
        return [bare, .. bare.Split(',')];
    }
}
