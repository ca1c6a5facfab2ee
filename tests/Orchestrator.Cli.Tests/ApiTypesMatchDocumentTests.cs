using System.Reflection;
using System.Text.Json;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// The CLI's hand-written API types against the live OpenAPI document: every property the CLI reads must be in the
/// schema it stands for, under the same snake_case name and with a compatible JSON type. A change to the API that
/// the document shows (a renamed, removed or retyped field) fails here instead of in users' terminals.
/// </summary>
[Collection(CliCluster.Name)]
public sealed class ApiTypesMatchDocumentTests(CliFixture fixture)
{
    public static TheoryData<string, string> Pairs => new()
    {
        { nameof(Instance), "InstanceResponse" },
        { nameof(InstanceSize), "InstanceSizeResponse" },
        { nameof(InstanceError), "InstanceErrorResponse" },
        { nameof(InstanceList), "InstanceListResponse" },
        { nameof(InstanceEvent), "InstanceEventResponse" },
        { nameof(InstanceEventList), "InstanceEventListResponse" },
        { nameof(Run), "RunResponse" },
        { nameof(RunStep), "StepResponse" },
        { nameof(RunSummary), "RunSummaryResponse" },
        { nameof(RunList), "RunListResponse" },
        { nameof(RunEvent), "RunEventItem" },
        { nameof(StepOutput), "StepOutputResponse" },
        { nameof(Workflow), "WorkflowResponse" },
        { nameof(WorkflowVersion), "WorkflowVersionResponse" },
        { nameof(WorkflowListItem), "WorkflowListItemResponse" },
        { nameof(WorkflowList), "WorkflowListResponse" },
        { nameof(WorkflowErrorItem), "ProblemDetails/errors/items" },
        { nameof(Problem), "ProblemDetails" },
        { nameof(Tenant), "TenantResponse" },
        { nameof(TenantSummary), "TenantSummaryResponse" },
        { nameof(TenantList), "TenantListResponse" },
        { nameof(Quotas), "QuotasResponse" },
        { nameof(ApiKey), "KeyResponse" },
        { nameof(ApiKeyList), "KeyListResponse" },
        { nameof(CreatedApiKey), "CreatedKeyResponse" },
        { nameof(VersionInfo), "VersionResponse" },
        { nameof(FileWritten), "FileWrittenResponse" },
        { nameof(StreamError), "StreamErrorEvent/error" },
        { nameof(Session), "SessionResponse" },
        { nameof(SessionList), "SessionListResponse" },
        { nameof(CreateSessionRequest), "CreateSessionRequest" },
        { nameof(RenameSessionRequest), "RenameSessionRequest" },
        { nameof(SessionInputRequest), "SessionInputRequest" },
        { nameof(DevEnvironment), "EnvironmentResponse" },
        { nameof(DevEnvironmentList), "EnvironmentListResponse" },
        { nameof(CreateEnvironmentRequest), "CreateEnvironmentRequest" },
        { nameof(EnvironmentVolumeRequest), "CreateEnvironmentRequest/volume" },
        { nameof(GitStatus), "GitStatusResponse" },
        { nameof(GitFile), "GitFileResponse" },
        { nameof(GitLog), "GitLogResponse" },
        { nameof(GitCommit), "GitCommitResponse" },
        { nameof(GitPerson), "GitPersonResponse" },
        { nameof(GitCommitRequest), "GitCommitBody" },
        { nameof(GitPerson), "GitCommitBody/author" },
        { nameof(GitCommitResult), "GitCommitResultResponse" },
        { nameof(GitPushRequest), "GitPushBody" },
        { nameof(GitPushResult), "GitPushResponse" },
        { nameof(GitPullResult), "GitPullResponse" },
        { nameof(GitCheckoutRequest), "GitCheckoutBody" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void EveryPropertyIsInTheSchemaWithItsType(string cliType, string schemaName)
    {
        using var document = JsonDocument.Parse(fixture.Document);
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var path = schemaName.Split('/');
        Assert.True(schemas.TryGetProperty(path[0], out var schema), $"the document has no schema {path[0]}");
        foreach (var step in path.Skip(1))
        {
            schema = Resolve(schema, schemas);
            schema = step == "items" ? schema.GetProperty("items") : schema.GetProperty("properties").GetProperty(step);
        }

        var properties = Resolve(schema, schemas).GetProperty("properties");
        var type = typeof(Instance).Assembly.GetType($"Orchestrator.Cli.Api.{cliType}")!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = property.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            Assert.True(properties.TryGetProperty(name, out var declared), $"{cliType}.{property.Name}: {schemaName} has no property '{name}'");
            var expected = JsonTypeOf(property.PropertyType);
            var actual = TypesOf(declared, schemas);
            Assert.True(expected is null || actual.Count == 0 || actual.Contains(expected) || (expected == "number" && actual.Contains("integer")),
                $"{cliType}.{property.Name} is {expected} here but {string.Join('|', actual)} in {schemaName}.{name}");
        }
    }

    [Fact]
    public void TheExecStreamLinesCoverTheDocumentedItems()
    {
        using var document = JsonDocument.Parse(fixture.Document);
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var line = typeof(ExecLine).GetProperties().Select(static p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).ToHashSet();
        foreach (var schemaName in new[] { "ExecOutputEvent", "ExecExitEvent", "StreamErrorEvent" })
        {
            foreach (var property in schemas.GetProperty(schemaName).GetProperty("properties").EnumerateObject())
            {
                Assert.True(line.Contains(property.Name), $"ExecLine does not read {schemaName}.{property.Name}");
            }
        }
    }

    [Fact]
    public void TheStreamedExecAddressUsesTheDocumentedPathAndParameters()
    {
        using var document = JsonDocument.Parse(fixture.Document);
        var request = new ExecRequest("cat", new Dictionary<string, string> { ["A"] = "1" }, "/tmp", 5, StdinBase64: null);
        var target = Orchestrator.Cli.Commands.ExecStdinStream.Target(new Uri("http://orch.test/"), "box", request);

        Assert.True(document.RootElement.GetProperty("paths").TryGetProperty("/api/instances/{id}/exec/ws", out var path), "the document has no /api/instances/{id}/exec/ws");
        var operation = path.GetProperty("get");
        Assert.Equal("/api/instances/box/exec/ws", target.AbsolutePath);
        var documented = operation.GetProperty("parameters").EnumerateArray()
            .Where(static p => p.GetProperty("in").GetString() == "query")
            .Select(static p => p.GetProperty("name").GetString())
            .ToHashSet();
        var sent = target.Query.TrimStart('?').Split('&').Select(static pair => pair.Split('=')[0]).ToHashSet();
        Assert.Equal(["command", "env", "cwd", "timeout_seconds"], sent);
        Assert.All(sent, name => Assert.Contains(name, documented));
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            return schemas.GetProperty(reference.GetString()!.Split('/')[^1]);
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                foreach (var option in options.EnumerateArray())
                {
                    var resolved = Resolve(option, schemas);
                    if (resolved.TryGetProperty("properties", out _))
                    {
                        return resolved;
                    }
                }
            }
        }

        return schema;
    }

    private static string? JsonTypeOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) || type == typeof(DateTimeOffset) || type == typeof(byte[]) ? "string"
            : type == typeof(int) || type == typeof(long) ? "integer"
            : type == typeof(double) ? "number"
            : type == typeof(bool) ? "boolean"
            : type == typeof(JsonElement) ? null
            : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? "array"
            : "object";
    }

    /// <summary>The JSON types a property's schema allows: its type(s), a $ref's target's, or those of its oneOf/anyOf.</summary>
    private static HashSet<string> TypesOf(JsonElement schema, JsonElement schemas)
    {
        var types = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = schemas.GetProperty(reference.GetString()!.Split('/')[^1]);
            types.UnionWith(TypesOf(target, schemas));
            if (types.Count == 0)
            {
                types.Add("object");
            }
        }

        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.Array)
            {
                types.UnionWith(type.EnumerateArray().Select(static t => t.GetString()!));
            }
            else
            {
                types.Add(type.GetString()!);
            }
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                foreach (var option in options.EnumerateArray())
                {
                    types.UnionWith(TypesOf(option, schemas));
                }
            }
        }

        return types;
    }
}
