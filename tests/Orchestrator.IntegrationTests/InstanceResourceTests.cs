using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly;
using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Resizing machines, growing volumes and mounting kept volumes, end to end: real HTTP on Kestrel, a silo on
/// PostgreSQL, and emulator machines that are real sandboxes with real sshd (what the machine sees is read over exec).
/// </summary>
public sealed class InstanceResourceTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private HttpClient Http => fixture.Silo.Http;

    private IMachineProvider Fly => fixture.Silo.App.Services.GetRequiredService<IMachineProvider>();

    [Fact]
    public async Task AResizeUpdatesTheMachineUnderALeaseAndItRestartsWithTheNewSize()
    {
        var created = await ExecFixture.CreateStartedAsync(fixture.Silo, "grows");
        var machineId = created.GetProperty("machine_id").GetString()!;
        var before = await Fly.GetMachineAsync(ExecFixture.AppName, machineId);
        Assert.Equal("256\n", await StdoutAsync("grows", "echo $FLY_VM_MEMORY_MB"));

        using var resized = await PatchAsync("grows", """{"size":{"cpus":2,"memory_mb":1024}}""");
        var body = await ReadAsync(resized);
        Assert.Equal(HttpStatusCode.Accepted, resized.StatusCode);
        Assert.Equal("/api/instances/grows", resized.Headers.Location?.ToString());
        Assert.Equal((2, 1024, "shared"), (body.GetProperty("size").GetProperty("cpus").GetInt32(), body.GetProperty("size").GetProperty("memory_mb").GetInt32(), body.GetProperty("size").GetProperty("cpu_kind").GetString()));
        await Wait.UntilAsync(async () => (await GetAsync("grows")).GetProperty("state").GetString() == "started", "grows to be started again after its resize");

        var after = await Fly.GetMachineAsync(ExecFixture.AppName, machineId);
        Assert.Equal((2, 1024), (after.Config!.Guest!.Cpus, after.Config.Guest.MemoryMb));
        Assert.NotEqual(before.InstanceId, after.InstanceId);
        Assert.Equal(before.Config!.Mounts, after.Config.Mounts);
        Assert.Equal(before.Config.Files!.Select(f => f.RawValue), after.Config.Files!.Select(f => f.RawValue));
        Assert.Equal("1024\n", await StdoutAsync("grows", "echo $FLY_VM_MEMORY_MB"));
        // The lease was let go: anyone can take it now.
        await using (var lease = await Fly.AcquireLeaseAsync(ExecFixture.AppName, machineId, TimeSpan.FromSeconds(5)))
        {
            Assert.NotEmpty(lease.Nonce);
        }

        // The same size, as a preset this time, is the size it has: nothing is sent to Fly.
        using var again = await PatchAsync("grows", """{"size":{"cpus":2,"memory_mb":1024,"cpu_kind":"shared"}}""");
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(after.InstanceId, (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).InstanceId);
        using var preset = await PatchAsync("grows", """{"size":"shared-cpu-1x"}""");
        Assert.Equal(HttpStatusCode.Accepted, preset.StatusCode);
        Assert.Equal("shared-cpu-1x", (await ReadAsync(preset)).GetProperty("size").GetProperty("preset").GetString());
        await Wait.UntilAsync(async () => (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).Config?.Guest?.MemoryMb == 256, "the machine to be back at 256 MB");
        await DestroyAsync("grows");
    }

    [Fact]
    public async Task AStoppedInstanceIsResizedAndStaysStopped()
    {
        await ExecFixture.CreateStartedAsync(fixture.Silo, "resting");
        using (var stop = await Http.PostAsync("/api/instances/resting/stop", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        }

        await Wait.UntilAsync(async () => (await GetAsync("resting")).GetProperty("state").GetString() == "stopped", "resting to stop");
        using var resized = await PatchAsync("resting", """{"size":"shared-cpu-2x"}""");
        Assert.Equal(HttpStatusCode.Accepted, resized.StatusCode);

        var machineId = (await GetAsync("resting")).GetProperty("machine_id").GetString()!;
        await Wait.UntilAsync(async () => (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).State == FlyMachineStates.Stopped, "the resized machine to rest stopped");
        Assert.Equal(512, (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).Config!.Guest!.MemoryMb);
        Assert.Equal("stopped", (await GetAsync("resting")).GetProperty("desired_state").GetString());
        await DestroyAsync("resting");
    }

    [Fact]
    public async Task WhileAnotherClientHoldsTheLeaseAResizeIs409AndTheSizeStays()
    {
        var created = await ExecFixture.CreateStartedAsync(fixture.Silo, "contended");
        var machineId = created.GetProperty("machine_id").GetString()!;

        await using (var held = await Fly.AcquireLeaseAsync(ExecFixture.AppName, machineId, TimeSpan.FromSeconds(60), "another client"))
        {
            using var refused = await PatchAsync("contended", """{"size":"shared-cpu-2x"}""");
            var problem = await ReadAsync(refused);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(InstanceProblems.Conflict, problem.GetProperty("type").GetString());
            var instance = await GetAsync("contended");
            Assert.Equal("shared-cpu-1x", instance.GetProperty("size").GetProperty("preset").GetString());
            Assert.Equal(256, (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).Config!.Guest!.MemoryMb);
        }

        using var accepted = await PatchAsync("contended", """{"size":"shared-cpu-2x"}""");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(512, (await Fly.GetMachineAsync(ExecFixture.AppName, machineId)).Config!.Guest!.MemoryMb);
        await DestroyAsync("contended");
    }

    [Fact]
    public async Task AVolumeGrowsAndNeverShrinksAndAnInstanceWithoutOneIs409()
    {
        var created = await CreateStartedAsync(new { name = "roomy", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } });
        Assert.Equal(1, created.GetProperty("volume_size_gb").GetInt32());
        var volumeId = created.GetProperty("volume_id").GetString()!;

        using var grown = await ExtendAsync("roomy", """{"size_gb":3}""");
        Assert.Equal(HttpStatusCode.OK, grown.StatusCode);
        Assert.Equal(3, (await ReadAsync(grown)).GetProperty("volume_size_gb").GetInt32());
        Assert.Equal(3, (await Fly.GetVolumeAsync(ExecFixture.AppName, volumeId)).SizeGb);
        Assert.Equal(3, (await GetAsync("roomy")).GetProperty("volume_size_gb").GetInt32());

        foreach (var size in new[] { 3, 2 })
        {
            using var shrink = await ExtendAsync("roomy", $$"""{"size_gb":{{size}}}""");
            var problem = await ReadAsync(shrink);
            Assert.Equal(HttpStatusCode.BadRequest, shrink.StatusCode);
            Assert.Equal((InstanceProblems.Validation, "size_gb"), (problem.GetProperty("type").GetString(), problem.GetProperty("field").GetString()));
            Assert.Contains("never shrink", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(3, (await Fly.GetVolumeAsync(ExecFixture.AppName, volumeId)).SizeGb);
        using var noVolume = await ExtendAsync(ExecFixture.Box, """{"size_gb":2}""");
        var conflict = await ReadAsync(noVolume);
        Assert.Equal(HttpStatusCode.Conflict, noVolume.StatusCode);
        Assert.Equal(InstanceProblems.Conflict, conflict.GetProperty("type").GetString());
        Assert.Contains($"'{ExecFixture.Box}' has no volume", conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await DestroyAsync("roomy");
    }

    [Fact]
    public async Task AKeptVolumeKeepsItsDataAndOnlyANewInstanceOfTheSameTenantMountsIt()
    {
        var first = await CreateStartedAsync(new { name = "keeps", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } });
        var volumeId = first.GetProperty("volume_id").GetString()!;
        Assert.Equal("", await StdoutAsync("keeps", "echo 'written before the destroy' > /data/note.txt"));

        using (var destroyed = await Http.DeleteAsync("/api/instances/keeps?keep_volume=true"))
        {
            var body = await ReadAsync(destroyed);
            Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
            Assert.Equal(("destroyed", volumeId), (body.GetProperty("state").GetString(), body.GetProperty("volume_id").GetString()));
        }

        var kept = await Fly.GetVolumeAsync(ExecFixture.AppName, volumeId);
        Assert.Equal("created", kept.State);
        Assert.Null(kept.AttachedMachineId);

        // Another tenant cannot mount it, and is not told whether it exists.
        using (var other = fixture.Silo.NewClient(await ApiKeys.CreateTenantKeyAsync(fixture.Silo.BaseAddress, "other-" + Guid.NewGuid().ToString("N")[..8])))
        using (var stolen = await other.PostAsJsonAsync("/api/instances", new { name = "thief", region = "ams", size = "shared-cpu-1x", volume = new { id = volumeId, path = "/data" } }))
        {
            await ProblemAssert.IsAsync(stolen, HttpStatusCode.NotFound, InstanceProblems.NotFound, "volume.id");
        }

        var second = await CreateStartedAsync(new { name = "mounts", region = "ams", size = "shared-cpu-1x", volume = new { id = volumeId, path = "/srv/data" } });
        Assert.Equal((volumeId, "/srv/data", 1), (second.GetProperty("volume_id").GetString(), second.GetProperty("volume_path").GetString(), second.GetProperty("volume_size_gb").GetInt32()));
        Assert.Equal("written before the destroy\n", await StdoutAsync("mounts", "cat /srv/data/note.txt"));

        // Held by a live instance now: a third create is refused, and makes nothing.
        using (var third = await Http.PostAsJsonAsync("/api/instances", new { name = "third", region = "ams", size = "shared-cpu-1x", volume = new { id = volumeId, path = "/data" } }))
        {
            await ProblemAssert.IsAsync(third, HttpStatusCode.Conflict, InstanceProblems.Conflict, "volume.id");
        }

        using (var missing = await Http.GetAsync("/api/instances/third"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // Repeating the create with the same request returns the same instance.
        using (var repeated = await Http.PostAsJsonAsync("/api/instances", new { name = "mounts", region = "ams", size = "shared-cpu-1x", volume = new { id = volumeId, path = "/srv/data" } }))
        {
            Assert.Equal(HttpStatusCode.Accepted, repeated.StatusCode);
            Assert.Equal(second.GetProperty("machine_id").GetString(), (await ReadAsync(repeated)).GetProperty("machine_id").GetString());
        }

        // Destroyed without keep_volume, the volume goes: naming it again is 404.
        await DestroyAsync("mounts");
        await Wait.UntilAsync(async () => !(await Fly.ListVolumesAsync(ExecFixture.AppName)).Any(v => v.Id == volumeId && v.State == "created"), "the volume to be deleted");
        using var gone = await Http.PostAsJsonAsync("/api/instances", new { name = "late", region = "ams", size = "shared-cpu-1x", volume = new { id = volumeId, path = "/data" } });
        await ProblemAssert.IsAsync(gone, HttpStatusCode.NotFound, InstanceProblems.NotFound, "volume.id");
    }

    [Theory]
    [InlineData("""{"name":"v1","region":"ams","size":"shared-cpu-1x","volume":{"id":"vol_abcdefabcdefabcd","size_gb":1,"path":"/data"}}""", "volume", HttpStatusCode.BadRequest)]
    [InlineData("""{"name":"v2","region":"ams","size":"shared-cpu-1x","volume":{"id":"disk-1","path":"/data"}}""", "volume.id", HttpStatusCode.BadRequest)]
    [InlineData("""{"name":"v3","region":"ams","size":"shared-cpu-1x","volume":{"id":7,"path":"/data"}}""", "volume.id", HttpStatusCode.BadRequest)]
    [InlineData("""{"name":"v4","region":"ams","size":"shared-cpu-1x","volume":{"id":"vol_abcdefabcdefabcd"}}""", "volume.path", HttpStatusCode.BadRequest)]
    [InlineData("""{"name":"v5","region":"ams","size":"shared-cpu-1x","volume":{"id":"vol_abcdefabcdefabcd","path":"/data","colour":"red"}}""", "volume.colour", HttpStatusCode.BadRequest)]
    [InlineData("""{"name":"v6","region":"ams","size":"shared-cpu-1x","volume":{"id":"vol_abcdefabcdefabcd","path":"/data"}}""", "volume.id", HttpStatusCode.NotFound)]
    public async Task EachBadVolumeInACreateNamesTheField(string json, string field, HttpStatusCode status)
    {
        using var response = await Http.PostAsync("/api/instances", new StringContent(json, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsAsync(response, status, status == HttpStatusCode.NotFound ? InstanceProblems.NotFound : InstanceProblems.Validation, field);
        var name = JsonDocument.Parse(json).RootElement.GetProperty("name").GetString();
        using var missing = await Http.GetAsync($"/api/instances/{name}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("PATCH", "", "{}", "size")]
    [InlineData("PATCH", "", """{"size":null}""", "size")]
    [InlineData("PATCH", "", """{"size":"huge"}""", "size")]
    [InlineData("PATCH", "", """{"size":4}""", "size")]
    [InlineData("PATCH", "", """{"size":{"cpus":3,"memory_mb":512}}""", "size.cpus")]
    [InlineData("PATCH", "", """{"size":{"cpus":1,"memory_mb":300}}""", "size.memory_mb")]
    [InlineData("PATCH", "", """{"size":{"cpus":1,"memory_mb":512,"cpu_kind":"gpu"}}""", "size.cpu_kind")]
    [InlineData("PATCH", "", """{"size":{"cpus":"one","memory_mb":512}}""", "size.cpus")]
    [InlineData("PATCH", "", """{"size":{"cpus":1,"memory_mb":512,"colour":"red"}}""", "size.colour")]
    [InlineData("PATCH", "", """{"size":"shared-cpu-1x","colour":"red"}""", "colour")]
    [InlineData("PATCH", "", """[1]""", "body")]
    [InlineData("PATCH", "", """not json""", "body")]
    [InlineData("POST", "/volume/extend", "{}", "size_gb")]
    [InlineData("POST", "/volume/extend", """{"size_gb":"big"}""", "size_gb")]
    [InlineData("POST", "/volume/extend", """{"size_gb":1.5}""", "size_gb")]
    [InlineData("POST", "/volume/extend", """{"size_gb":0}""", "size_gb")]
    [InlineData("POST", "/volume/extend", """{"size_gb":501}""", "size_gb")]
    [InlineData("POST", "/volume/extend", """{"size_gb":2,"shrink":true}""", "shrink")]
    [InlineData("POST", "/volume/extend", """"text"""", "body")]
    public async Task EachBadResizeOrExtendBodyIs400NamingTheField(string method, string suffix, string json, string field)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/api/instances/{ExecFixture.Box}{suffix}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request);

        var problem = await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, InstanceProblems.Validation, field);
        Assert.Contains(field, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResizingOrExtendingAnUnknownDestroyedOrBadlyNamedInstanceSaysWhichItIs()
    {
        using (var unknown = await PatchAsync("never-made", """{"size":"shared-cpu-1x"}"""))
        {
            await ProblemAssert.IsAsync(unknown, HttpStatusCode.NotFound, InstanceProblems.NotFound, field: null);
        }

        using (var unknown = await ExtendAsync("never-made", """{"size_gb":2}"""))
        {
            await ProblemAssert.IsAsync(unknown, HttpStatusCode.NotFound, InstanceProblems.NotFound, field: null);
        }

        using (var badId = await PatchAsync("Bad_Name", """{"size":"shared-cpu-1x"}"""))
        {
            await ProblemAssert.IsAsync(badId, HttpStatusCode.BadRequest, InstanceProblems.Validation, "id");
        }

        using (var badId = await ExtendAsync("Bad_Name", """{"size_gb":2}"""))
        {
            await ProblemAssert.IsAsync(badId, HttpStatusCode.BadRequest, InstanceProblems.Validation, "id");
        }

        await ExecFixture.CreateStartedAsync(fixture.Silo, "short-lived");
        await DestroyAsync("short-lived");
        using (var destroyed = await PatchAsync("short-lived", """{"size":"shared-cpu-2x"}"""))
        {
            await ProblemAssert.IsAsync(destroyed, HttpStatusCode.Conflict, InstanceProblems.Destroyed, field: null);
        }

        using var destroyedVolume = await ExtendAsync("short-lived", """{"size_gb":2}""");
        await ProblemAssert.IsAsync(destroyedVolume, HttpStatusCode.Conflict, InstanceProblems.Destroyed, field: null);
    }

    [Fact]
    public async Task WorkflowStepsResizeGrowKeepAndRemountAndEveryInstanceOutputIsReadable()
    {
        var client = fixture.Silo.Client;
        const string Yaml = """
            name: resources
            steps:
              - id: make
                uses: instance.create
                with: { name: "wf-res-${{ run.id }}", region: ams, size: shared-cpu-1x, volume: { size_gb: 1, path: /data } }
              - id: write
                uses: ssh.exec
                with: { instance: "${{ steps.make.outputs.id }}", command: "echo from-the-first > /data/mark" }
              - id: bigger
                uses: instance.resize
                with: { instance: "${{ steps.make.outputs.id }}", size: { cpus: 1, memory_mb: 512 } }
              - id: memory
                uses: ssh.exec
                with: { instance: "${{ steps.make.outputs.id }}", command: "echo $FLY_VM_MEMORY_MB" }
                outputs: { mb: stdout }
              - id: grow
                uses: instance.extend_volume
                with: { instance: "${{ steps.make.outputs.id }}", size_gb: 2 }
              - id: gone
                uses: instance.destroy
                with: { instance: "${{ steps.make.outputs.id }}", keep_volume: true }
              - id: again
                uses: instance.create
                with: { name: "wf-res2-${{ run.id }}", region: ams, size: shared-cpu-1x, volume: { id: "${{ steps.gone.outputs.volume_id }}", path: /data } }
              - id: read
                uses: ssh.exec
                with: { instance: "${{ steps.again.outputs.id }}", command: "cat /data/mark" }
                outputs: { mark: stdout }
            finally:
              - id: cleanup
                uses: instance.destroy
                with: { instance: "wf-res2-${{ run.id }}" }
            outputs:
              machine: ${{ steps.make.outputs.machine_id }}
              gone_state: ${{ steps.gone.outputs.state }}
              memory: ${{ steps.bigger.outputs.memory_mb }}
              volume: ${{ steps.grow.outputs.volume_id }}
              volume_size: ${{ steps.grow.outputs.size_gb }}
            """;
        await client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(SiloNode.Tenant, "resources")).RegisterAsync(Yaml);
        var runId = "run-" + Guid.NewGuid().ToString("N")[..20];
        var run = client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(SiloNode.Tenant, runId));
        await run.StartAsync(new RunStartRequest("resources", null, "{}", null));
        RunView? view = null;
        await Wait.UntilAsync(async () => (view = await run.GetAsync()) is { } v && RunStatuses.IsTerminal(v.Status), "the resources run to end", TimeSpan.FromMinutes(2));

        Assert.True(view!.Status == RunStatuses.Succeeded, $"{view.Status}: {view.Error}");
        var steps = view.Steps.ToDictionary(s => s.Id);
        var outputs = JsonNode.Parse(view.OutputsJson)!;
        var first = await client.GetGrain<IInstanceGrain>(InstanceKey.Format(SiloNode.Tenant, $"wf-res-{runId}")).GetAsync();
        Assert.Equal(first!.MachineId, outputs["machine"]!.GetValue<string>());
        Assert.Equal("destroyed", outputs["gone_state"]!.GetValue<string>());
        // A workflow output is a template, so it is text; the step's own outputs keep their types.
        Assert.Equal("512", outputs["memory"]!.ToString());
        Assert.Equal(512, JsonNode.Parse(steps["bigger"].OutputsJson)!["memory_mb"]!.GetValue<int>());
        Assert.Equal(2, JsonNode.Parse(steps["grow"].OutputsJson)!["size_gb"]!.GetValue<int>());
        Assert.Equal("512", JsonNode.Parse(steps["memory"].OutputsJson)!["mb"]!.GetValue<string>());
        Assert.Equal(first.VolumeId, outputs["volume"]!.GetValue<string>());
        Assert.Equal("2", outputs["volume_size"]!.ToString());
        Assert.Equal("from-the-first", JsonNode.Parse(steps["read"].OutputsJson)!["mark"]!.GetValue<string>());
        Assert.Equal(first.VolumeId, JsonNode.Parse(steps["again"].OutputsJson)!["volume_id"]!.GetValue<string>());
    }

    private async Task<JsonElement> CreateStartedAsync(object body)
    {
        using var created = await Http.PostAsJsonAsync("/api/instances?wait=started", body);
        var json = await ReadAsync(created);
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"create: {(int)created.StatusCode} {json}");
        return json;
    }

    private Task<HttpResponseMessage> PatchAsync(string id, string json) =>
        Http.PatchAsync($"/api/instances/{id}", new StringContent(json, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> ExtendAsync(string id, string json) =>
        Http.PostAsync($"/api/instances/{id}/volume/extend", new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task DestroyAsync(string id)
    {
        using var response = await Http.DeleteAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement> GetAsync(string id)
    {
        using var response = await Http.GetAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync(response);
    }

    private async Task<string> StdoutAsync(string instance, string command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/instances/{instance}/exec") { Content = JsonContent.Create(new { command }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await Http.SendAsync(request);
        var result = await ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK && result.GetProperty("exit_code").GetInt32() == 0, $"exec '{command}' on {instance}: {(int)response.StatusCode} {result}");
        return result.GetProperty("stdout").GetString()!;
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
}
