using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Runs;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;

namespace Orchestrator.Gateway.Tests;

public sealed class RunRequestTests
{
    [Fact]
    public void AnIdempotencyKeyNamesTheSameRunEveryTimeAndOnlyWithinItsTenant()
    {
        var expected = "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("dev\nnightly-2026-01-01")))[..20];

        Assert.Equal(expected, RunIds.For("dev", "nightly-2026-01-01"));
        Assert.Equal(expected, RunIds.For("dev", "nightly-2026-01-01"));
        Assert.NotEqual(expected, RunIds.For("other", "nightly-2026-01-01"));
        Assert.NotEqual(expected, RunIds.For("dev", "nightly-2026-01-02"));
        Assert.Matches("^run-[0-9a-f]{20}$", expected);
        Assert.Null(RunRequest.ValidateRunId(expected));
    }

    [Fact]
    public void NewRunIdsAreDistinctAndValidInPaths()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => RunIds.New()).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^run-[0-9a-f]{20}$", id));
        Assert.All(ids, id => Assert.Null(RunRequest.ValidateRunId(id)));
    }

    [Theory]
    [InlineData("run-0123456789abcdef0123", true)]
    [InlineData("my-run-1", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("Run-1", false)]
    [InlineData("run_1", false)]
    [InlineData("run/1", false)]
    [InlineData("run-1\n", false)]
    [InlineData("..", false)]
    public void RunIdsInPathsAreLowercaseLettersDigitsAndDashes(string id, bool valid)
    {
        Assert.Equal(valid, RunRequest.ValidateRunId(id) is null);
    }

    [Fact]
    public void RunIdsAndWorkflowNamesAreAtMost63Characters()
    {
        Assert.Null(RunRequest.ValidateRunId(new string('a', 63)));
        Assert.NotNull(RunRequest.ValidateRunId(new string('a', 64)));
        Assert.Null(WorkflowRequest.ValidateName(new string('a', 63)));
        Assert.NotNull(WorkflowRequest.ValidateName(new string('a', 64)));
    }

    [Fact]
    public void AFullStartBodyIsReadIntoTheRequest()
    {
        var (start, problem) = RunRequest.ParseStart(
            Json("""{"workflow":"hello","version":2,"inputs":{"greeting":"hi","n":3},"secrets":{"TOKEN":"s3cret"},"idempotency_key":"k-1"}"""),
            headerKey: null);

        Assert.Null(problem);
        Assert.NotNull(start);
        Assert.Equal("hello", start.Workflow);
        Assert.Equal(2, start.Version);
        Assert.Equal("hi", JsonSerializer.Deserialize<JsonElement>(start.InputsJson).GetProperty("greeting").GetString());
        Assert.Equal("s3cret", start.Secrets!["TOKEN"]);
        Assert.Equal("k-1", start.IdempotencyKey);
    }

    [Fact]
    public void AMinimalStartBodyHasNoVersionEmptyInputsAndNoKey()
    {
        var (start, problem) = RunRequest.ParseStart(Json("""{"workflow":"hello","version":null,"inputs":null}"""), headerKey: null);

        Assert.Null(problem);
        Assert.Null(start!.Version);
        Assert.Equal("{}", start.InputsJson);
        Assert.Null(start.Secrets);
        Assert.Null(start.IdempotencyKey);
    }

    [Fact]
    public void TheIdempotencyKeyHeaderIsUsedAndMayRepeatTheBodysKey()
    {
        Assert.Equal("from-header", RunRequest.ParseStart(Json("""{"workflow":"hello"}"""), "from-header").Start!.IdempotencyKey);
        Assert.Equal("same", RunRequest.ParseStart(Json("""{"workflow":"hello","idempotency_key":"same"}"""), "same").Start!.IdempotencyKey);
    }

    [Theory]
    [InlineData("[]", "body")]
    [InlineData("\"hello\"", "body")]
    [InlineData("{}", "workflow")]
    [InlineData("""{"workflow":5}""", "workflow")]
    [InlineData("""{"workflow":"Hello"}""", "workflow")]
    [InlineData("""{"workflow":"hello.world"}""", "workflow")]
    [InlineData("""{"workflow":"hello","colour":"red"}""", "colour")]
    [InlineData("""{"workflow":"hello","version":0}""", "version")]
    [InlineData("""{"workflow":"hello","version":-1}""", "version")]
    [InlineData("""{"workflow":"hello","version":1.5}""", "version")]
    [InlineData("""{"workflow":"hello","version":"1"}""", "version")]
    [InlineData("""{"workflow":"hello","version":99999999999}""", "version")]
    [InlineData("""{"workflow":"hello","inputs":[]}""", "inputs")]
    [InlineData("""{"workflow":"hello","inputs":"a=b"}""", "inputs")]
    [InlineData("""{"workflow":"hello","secrets":["a"]}""", "secrets")]
    [InlineData("""{"workflow":"hello","secrets":{"TOKEN":1}}""", "secrets.TOKEN")]
    [InlineData("""{"workflow":"hello","secrets":{"TOKEN":null}}""", "secrets.TOKEN")]
    [InlineData("""{"workflow":"hello","idempotency_key":7}""", "idempotency_key")]
    [InlineData("""{"workflow":"hello","idempotency_key":""}""", "idempotency_key")]
    [InlineData("""{"workflow":"hello","idempotency_key":"a\nb"}""", "idempotency_key")]
    public void ABadStartBodyNamesItsField(string body, string field)
    {
        var (start, problem) = RunRequest.ParseStart(Json(body), headerKey: null);

        Assert.Null(start);
        Assert.Equal(field, problem?.Field);
    }

    [Fact]
    public void AnIdempotencyKeyThatIsTooLongIsRefused()
    {
        var key = new string('k', RunRequest.MaxIdempotencyKeyLength + 1);

        Assert.Equal("idempotency_key", RunRequest.ParseStart(Json($$"""{"workflow":"hello","idempotency_key":"{{key}}"}"""), null).Problem?.Field);
        Assert.Equal("Idempotency-Key", RunRequest.ParseStart(Json("""{"workflow":"hello"}"""), key).Problem?.Field);
    }

    [Fact]
    public void AHeaderKeyThatContradictsTheBodysKeyIsRefused()
    {
        var (_, problem) = RunRequest.ParseStart(Json("""{"workflow":"hello","idempotency_key":"one"}"""), "two");

        Assert.Equal("idempotency_key", problem?.Field);
    }

    [Theory]
    [InlineData(null, null, 0L, null)]
    [InlineData(null, "7", 7L, null)]
    [InlineData("9", "7", 9L, null)]
    [InlineData("", "3", 3L, null)]
    [InlineData("x", null, 0L, "Last-Event-ID")]
    [InlineData("-1", null, 0L, "Last-Event-ID")]
    [InlineData(null, "1e3", 0L, "after")]
    [InlineData(null, "", 0L, "after")]
    public void TheLastEventIdHeaderWinsOverTheAfterQuery(string? header, string? query, long after, string? field)
    {
        var (parsed, problem) = RunRequest.ParseAfter(header, query);

        Assert.Equal(field, problem?.Field);
        if (field is null)
        {
            Assert.Equal(after, parsed);
        }
    }

    [Theory]
    [InlineData("approve", true)]
    [InlineData("deploy.approved", true)]
    [InlineData("_x-1", true)]
    [InlineData("1st", false)]
    [InlineData("with space", false)]
    [InlineData("", false)]
    public void SignalNamesAreIdentifiers(string name, bool valid)
    {
        Assert.Equal(valid, RunRequest.ValidateSignalName(name) is null);
    }

    [Fact]
    public void OnlyKnownStatusesFilterTheList()
    {
        Assert.All(
            new[] { RunStatuses.Pending, RunStatuses.Running, RunStatuses.Waiting, RunStatuses.Succeeded, RunStatuses.Failed, RunStatuses.Cancelled },
            s => Assert.Null(RunRequest.ValidateStatus(s)));
        Assert.Contains("succeeded", RunRequest.ValidateStatus("done"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", true, "null")]
    [InlineData("  ", true, "null")]
    [InlineData("null", true, "null")]
    [InlineData("""{"ok":true}""", true, """{"ok":true}""")]
    [InlineData("42", true, "42")]
    [InlineData("{", false, null)]
    [InlineData("yes", false, null)]
    public void ASignalPayloadIsAnyJsonValueAndNothingMeansNull(string body, bool valid, string? payload)
    {
        var (parsed, problem) = RunEndpoints.ParseJson(body);

        Assert.Equal(valid, problem is null);
        if (valid)
        {
            Assert.Equal(payload, parsed?.GetRawText() ?? "null");
        }
        else
        {
            Assert.Equal("body", Field(problem!));
        }
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("*/*", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/json", true)]
    [InlineData("application/json, text/plain", true)]
    [InlineData("text/plain, application/json;q=0.5", false)]
    [InlineData("application/json;q=0", false)]
    public void StepOutputIsPlainTextUnlessJsonIsPreferred(string? accept, bool json)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(json, RunEndpoints.WantsJson(context.Request));
    }

    [Theory]
    [InlineData(null, "ServerSentEvents")]
    [InlineData("text/event-stream", "ServerSentEvents")]
    [InlineData("application/x-ndjson", "NdJson")]
    [InlineData("application/json, application/x-ndjson", "NdJson")]
    [InlineData("application/x-ndjson;q=0, text/event-stream", "ServerSentEvents")]
    public void EventsAreSseUnlessNdjsonIsAccepted(string? accept, string expected)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(Enum.Parse<RunEventFormat>(expected), RunEndpoints.ChooseEventFormat(context.Request));
    }

    [Fact]
    public void GrainExceptionsMapToStableProblemTypes()
    {
        AssertProblem(WorkflowProblems.FromException(new WorkflowNotFoundException("There is no workflow 'x'.")), 404, InstanceProblems.NotFound);
        AssertProblem(WorkflowProblems.FromException(new RunNotFoundException("Run 'x' does not exist.")), 404, InstanceProblems.NotFound);
        AssertProblem(WorkflowProblems.FromException(new RunConflictException("taken")), 409, InstanceProblems.Conflict);
        var input = AssertProblem(WorkflowProblems.FromException(new RunInputException("inputs.greeting", "Input 'greeting' is required and has no default.")), 400, InstanceProblems.Validation);
        Assert.Equal("inputs.greeting", input.Extensions["field"]);
        Assert.Equal("inputs.greeting is invalid: Input 'greeting' is required and has no default.", input.Detail);
        var cursor = AssertProblem(WorkflowProblems.FromException(new RunCursorException("bad")), 400, InstanceProblems.Validation);
        Assert.Equal("cursor", cursor.Extensions["field"]);
        Assert.Null(WorkflowProblems.FromException(new InvalidOperationException("a bug")));
    }

    [Fact]
    public void AnInvalidDefinitionFromTheGrainListsEveryLocatedError()
    {
        var exception = new WorkflowInvalidException("2 errors", [new WorkflowProblem("unknown_step_type", "steps[0].uses", 4, 11, "Unknown step type 'slep'."), new WorkflowProblem("missing_field", "name", 1, 1, "name is required.")]);

        var problem = AssertProblem(WorkflowProblems.FromException(exception), 400, WorkflowProblems.WorkflowInvalid);

        var errors = Assert.IsAssignableFrom<IReadOnlyList<WorkflowErrorResponse>>(problem.Extensions["errors"]);
        Assert.Equal(new WorkflowErrorResponse("unknown_step_type", "steps[0].uses", 4, 11, "Unknown step type 'slep'."), errors[0]);
        Assert.Equal(2, errors.Count);
        Assert.Equal("4:11 steps[0].uses: Unknown step type 'slep'; and 1 more.", problem.Detail);
        Assert.Equal("1:1 name: name is required.", RunRequestTests.AssertProblem(WorkflowProblems.Invalid([exception.Problems[1]]), 400, WorkflowProblems.WorkflowInvalid).Detail);
    }

    [Theory]
    [InlineData("inputs.x is required", "inputs.x", "is required")]
    [InlineData("inputs.x: must be a number", "inputs.x", "must be a number")]
    [InlineData("Input 'x' is required.", "inputs.x", "is invalid: Input 'x' is required.")]
    [InlineData("", "inputs", "is invalid")]
    public void AnInputProblemNamesItsFieldOnce(string message, string field, string expected)
    {
        Assert.Equal(expected, WorkflowProblems.WithoutField(message, field));
    }

    internal static Microsoft.AspNetCore.Mvc.ProblemDetails AssertProblem(IResult? result, int status, string type)
    {
        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(status, problem.StatusCode);
        Assert.Equal(type, problem.ProblemDetails.Type);
        return problem.ProblemDetails;
    }

    private static string? Field(IResult result) => Assert.IsType<ProblemHttpResult>(result).ProblemDetails.Extensions["field"] as string;

    private static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);
}
