using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary>Turns backend outcomes into typed results: the value with Fly's success status, or Fly's error body.</summary>
internal static class FlyResults
{
    public static JsonHttpResult<object> Error(FlyFailure failure) => TypedResults.Json(failure.Body, statusCode: failure.StatusCode);

    public static Results<Ok<T>, JsonHttpResult<object>> Ok<T>(Outcome<T> outcome) =>
        outcome.Failure is { } failure ? Error(failure) : TypedResults.Ok(outcome.Value!);

    public static Results<Ok<OkResponse>, JsonHttpResult<object>> OkTrue(FlyFailure? failure) =>
        failure is not null ? Error(failure) : TypedResults.Ok(OkResponse.True);

    public static Results<NoContent, JsonHttpResult<object>> NoContent(FlyFailure? failure) =>
        failure is not null ? Error(failure) : TypedResults.NoContent();

    /// <summary>Query flags the way Go's strconv.ParseBool reads them; anything else is false.</summary>
    public static bool Flag(string? value) => value is "1" or "t" or "T" or "true" or "TRUE" or "True";
}
