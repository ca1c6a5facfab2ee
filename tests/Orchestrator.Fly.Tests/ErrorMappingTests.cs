using Orchestrator.Testing;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>Every error fixture, served over HTTP with its status, becomes the right <see cref="FlyApiException"/>.</summary>
public sealed class ErrorMappingTests
{
    /// <summary>Fixture → (status served, category, retryable). The status is the one in the file name.</summary>
    public static readonly IReadOnlyDictionary<string, (int Status, FlyErrorCategory Category, bool Retryable)> Expected =
        new Dictionary<string, (int, FlyErrorCategory, bool)>
        {
            ["error-400-stop-bad-body.json"] = (400, FlyErrorCategory.Validation, false),
            ["error-400-volume-no-capacity.json"] = (400, FlyErrorCategory.Capacity, true),
            ["error-400-wait-instance-id-required.json"] = (400, FlyErrorCategory.Validation, false),
            ["error-401-token-validation.json"] = (401, FlyErrorCategory.Authentication, false),
            ["error-403-org-memory-quota.json"] = (403, FlyErrorCategory.Capacity, false),
            ["error-403-unauthorized.json"] = (403, FlyErrorCategory.Authentication, false),
            ["error-404-app-not-found.json"] = (404, FlyErrorCategory.NotFound, false),
            ["error-404-could-not-find-app.json"] = (404, FlyErrorCategory.NotFound, false),
            ["error-404-machine-not-found.json"] = (404, FlyErrorCategory.NotFound, false),
            ["error-404-volume-not-found.json"] = (404, FlyErrorCategory.NotFound, false),
            ["error-408-wait-timeout-deadline-exceeded.json"] = (408, FlyErrorCategory.Timeout, true),
            ["error-408-wait-timeout.json"] = (408, FlyErrorCategory.Timeout, true),
            ["error-409-insufficient-memory.json"] = (409, FlyErrorCategory.Capacity, true),
            ["error-409-lease-conflict.json"] = (409, FlyErrorCategory.Conflict, true),
            ["error-409-lease-held-write.json"] = (409, FlyErrorCategory.Conflict, true),
            ["error-412-insufficient-resources-volume.json"] = (412, FlyErrorCategory.Capacity, true),
            ["error-412-start-while-replacing.json"] = (412, FlyErrorCategory.Conflict, true),
            ["error-422-app-name-taken.json"] = (422, FlyErrorCategory.Validation, false),
            ["error-503-insufficient-capacity.json"] = (503, FlyErrorCategory.Capacity, true),
            // No status was captured for these two; failed_precondition is 412 everywhere else it was.
            ["error-delete-volume-bound.json"] = (412, FlyErrorCategory.Conflict, false),
            ["error-start-from-created-state.json"] = (412, FlyErrorCategory.Conflict, false),
        };

    public static TheoryData<string> ErrorFixtures => [.. Expected.Keys];

    [Fact]
    public void Every_error_fixture_has_an_expectation()
    {
        Assert.Equal(FlyFixtures.Named("error-*.json"), Expected.Keys.Order(StringComparer.Ordinal));
        foreach (var (fixture, (status, _, _)) in Expected)
        {
            var named = fixture.Split('-')[1];
            if (int.TryParse(named, out var inName))
            {
                Assert.Equal(inName, status);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ErrorFixtures))]
    public async Task Error_fixture_maps_to_category_retryable_message_and_request_id(string fixture)
    {
        var (status, category, retryable) = Expected[fixture];
        var body = FlyFixtures.Read(fixture);
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.Respond(context, status, body));
        // No retries: this test is about one answer and what it means.
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:MaxRetryAttempts"] = "0");

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.GetMachineAsync(FlyClientHost.AppName, "1857156b526dd8"));

        var json = JsonNode.Parse(body)!;
        var flyMessage = (json["message"] ?? json["error"])!.GetValue<string>();
        Assert.Equal(category, ex.Category);
        Assert.Equal(retryable, ex.Retryable);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(flyMessage, ex.FlyMessage);
        Assert.Equal(FlyTestServer.RequestIdPrefix + "1", ex.RequestId);
        Assert.Contains(flyMessage, ex.Message, StringComparison.Ordinal);
        Assert.Contains(FlyTestServer.RequestIdPrefix + "1", ex.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Fly_status_codes_are_kept_for_branching()
    {
        await using var server = await FlyTestServer.StartAsync((context, request) => request.Path.EndsWith("/lease", StringComparison.Ordinal)
            ? FlyTestServer.RespondFixture(context, 409, "error-409-lease-conflict.json")
            : FlyTestServer.RespondFixture(context, 422, "error-422-app-name-taken.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var taken = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.CreateAppAsync("my-app-name"));
        var leased = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, "3d8d413b29d089", TimeSpan.FromSeconds(30)));

        Assert.Equal("name_taken", taken.FlyStatus);
        Assert.False(taken.IsLeaseConflict);
        Assert.Equal("invalid", leased.FlyStatus);
        Assert.True(leased.IsLeaseConflict);
    }

    [Fact]
    public async Task Error_without_a_body_still_maps()
    {
        // Fly has been seen answering a 400 with content-length 0 (superfly/docs#2187).
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.Respond(context, 400));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.StopMachineAsync(FlyClientHost.AppName, "1857156b526dd8"));

        Assert.Equal(FlyErrorCategory.Validation, ex.Category);
        Assert.Null(ex.FlyMessage);
        Assert.Equal(400, ex.StatusCode);
    }

    [Fact]
    public async Task Retry_after_is_read_from_a_429()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) =>
            FlyTestServer.Respond(context, 429, """{"error":"rate limited"}""", ("Retry-After", "7")));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        // A POST is not retried by the pipeline, so the 429 reaches the caller as it came.
        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.StartMachineAsync(FlyClientHost.AppName, "1857156b526dd8"));

        Assert.Equal(FlyErrorCategory.RateLimited, ex.Category);
        Assert.True(ex.Retryable);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Fact]
    public async Task No_answer_maps_to_a_retryable_server_failure()
    {
        // A port that was just free and is closed again: connection refused.
        Uri closed;
        await using (var gone = await FlyTestServer.StartAsync())
        {
            closed = gone.BaseAddress;
        }

        await using var host = FlyClientHost.Create(closed, s => s["Fly:MaxRetryAttempts"] = "0");

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.GetMachineAsync(FlyClientHost.AppName, "1857156b526dd8"));

        Assert.Equal(FlyErrorCategory.Server, ex.Category);
        Assert.True(ex.Retryable);
        Assert.True(ex.OutcomeUnknown);
        Assert.Null(ex.StatusCode);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }
}
