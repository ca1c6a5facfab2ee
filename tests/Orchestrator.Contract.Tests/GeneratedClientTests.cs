using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Orchestrator.Client;
using Orchestrator.Client.Api.Instances;
using Orchestrator.Client.Models;

namespace Orchestrator.Contract.Tests;

/// <summary>
/// The C# client Kiota generated from the live document during this project's build (obj/generated/ApiClient), used
/// as a customer would: register a workflow from JSON, create an instance, run a command, start and read a run, and
/// read a 404 as a typed problem. Its traffic is validated against the document too.
/// </summary>
[Collection(ContractCluster.Name)]
public sealed class GeneratedClientTests(ContractFixture fixture)
{
    [Fact]
    public async Task TheGeneratedClientDrivesTheApi()
    {
        // The key goes on the HttpClient: Kiota's own key provider refuses plain http, which a loopback test server is.
        using var http = fixture.Client(fixture.TenantKey);
        var client = new OrchestratorClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = fixture.BaseAddress.ToString().TrimEnd('/'),
        });
        var name = "kiota-" + Guid.NewGuid().ToString("N")[..8];

        var workflow = await client.Api.Workflows.PostAsync(new WorkflowDefinition
        {
            Name = name,
            Description = "Registered by the generated client",
            Steps =
            [
                new WorkflowStep
                {
                    Id = "hello",
                    Uses = WorkflowStep_uses.SshExec,
                    With = new WorkflowStep_with { AdditionalData = { ["instance"] = name, ["command"] = "echo hello from kiota" } },
                },
            ],
        });
        var instance = await client.Api.Instances.PostAsync(
            new CreateInstanceRequest { Name = name, Region = "ams", Size = new CreateInstanceRequest.CreateInstanceRequest_size { String = "shared-cpu-1x" } },
            config => config.QueryParameters.Wait = PostWaitQueryParameterType.Started);
        var exec = await client.Api.Instances[name].Exec.PostAsync(new ExecRequest { Command = "echo out; exit 3" });
        var started = await client.Api.Runs.PostAsync(new StartRunRequest { Workflow = name });
        var run = await client.Api.Runs[started!.Id!].GetAsync();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (run!.Status is "pending" or "running" && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
            run = await client.Api.Runs[started.Id!].GetAsync();
        }

        var problem = await Assert.ThrowsAsync<ProblemDetails>(() => client.Api.Runs["no-such-run"].GetAsync());

        Assert.Equal(1, workflow!.Version);
        Assert.Equal("started", instance!.State);
        Assert.Equal(3, exec!.ExitCode);
        Assert.Equal("out\n", exec.Stdout);
        Assert.Equal("succeeded", run.Status);
        Assert.Equal(404, problem.ResponseStatusCode);
        Assert.Equal(404, problem.Status);
        Assert.Equal("https://orchestrator.dev/problems/not-found", problem.Type);
        Assert.Matches("^[0-9a-f]{32}$", problem.RequestId);
        Assert.Contains("no-such-run", problem.Message, StringComparison.Ordinal);
        Assert.True(fixture.Validator.Violations.IsEmpty, string.Join('\n', fixture.Validator.Violations));
    }
}
