using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Environments and git on them end to end: the built-in environment workflow clones from a real git server (a
/// <c>git daemon</c> accepting pushes, or a smart-HTTP server behind Basic auth) onto an emulator machine, and the git
/// API works on that checkout with real git. The remote is checked with git on the host.
/// </summary>
public sealed class EnvironmentGitTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private static readonly TimeSpan s_ready = TimeSpan.FromSeconds(90);

    private HttpClient Http => fixture.Silo.Http;

    [Fact]
    public async Task AnEnvironmentClonesCommitsPushesAndReportsGitsRefusalsAsProblems()
    {
        await using var daemon = await GitDaemon.StartAsync("env-git-");
        var remote = await daemon.CreateRepositoryAsync("remote.git");

        // Bad input names its field, before anything is made.
        await ExpectProblemAsync(await PostAsync("/api/environments", new { name = "../up", repo_url = "git://x/y", region = "ams", size = "shared-cpu-1x" }), 400, "validation", field: "name");
        await ExpectProblemAsync(await PostAsync("/api/environments", new { name = "app", repo_url = "file:///etc", region = "ams", size = "shared-cpu-1x" }), 400, "validation", field: "repo_url");
        await ExpectProblemAsync(await PostAsync("/api/environments", new { name = "app", repo_url = "https://u:p@example.com/r.git", region = "ams", size = "shared-cpu-1x" }), 400, "validation", field: "repo_url");
        await ExpectProblemAsync(await Http.GetAsync(new Uri("/api/environments/env-0000000000000000", UriKind.Relative)), 404, "not-found");
        await ExpectProblemAsync(await Http.GetAsync(new Uri("/api/environments/env-0000000000000000/git/status", UriKind.Relative)), 404, "not-found");

        var id = await CreateReadyAsync(new
        {
            name = "app",
            repo_url = daemon.UrlOf("remote.git"),
            region = "ams",
            size = "shared-cpu-1x",
            setup_command = "git config user.name 'Env User' && git config user.email env@example.com && test -f README.md",
        });
        var git = $"/api/environments/{id}/git";

        // The run opened a first terminal session in the checkout, named after it.
        var environment = await GetJsonAsync($"/api/environments/{id}");
        var sessionId = Assert.Single(environment.GetProperty("sessions").EnumerateArray()).GetString();
        var session = await GetJsonAsync($"/api/instances/{id}/sessions/{sessionId}");
        Assert.Equal(("app", "running", "/workspace/app"), (session.GetProperty("name").GetString(), session.GetProperty("status").GetString(), session.GetProperty("cwd").GetString()));

        var status = await GetJsonAsync($"{git}/status");
        Assert.Equal("main", status.GetProperty("branch").GetString());
        Assert.Equal("origin/main", status.GetProperty("upstream").GetString());
        Assert.Equal(0, status.GetProperty("ahead").GetInt32());
        Assert.Equal(0, status.GetProperty("behind").GetInt32());
        Assert.True(status.GetProperty("clean").GetBoolean(), status.ToString());
        Assert.Empty(status.GetProperty("files").EnumerateArray());

        // A change made on the machine (through exec) shows in status and diff.
        await ExecAsync(id, "app", "echo hello > hello.txt && echo changed >> README.md");
        status = await GetJsonAsync($"{git}/status");
        Assert.False(status.GetProperty("clean").GetBoolean());
        var files = status.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!);
        Assert.Equal("untracked", files["hello.txt"].GetProperty("kind").GetString());
        Assert.Equal(("unmodified", "modified"), (files["README.md"].GetProperty("index").GetString(), files["README.md"].GetProperty("worktree").GetString()));
        var diff = await Http.GetStringAsync(new Uri($"{git}/diff?path=README.md", UriKind.Relative));
        Assert.Contains("+changed", diff, StringComparison.Ordinal);

        // Commit everything; the log shows it; committing again has nothing to commit.
        var commit = await PostJsonAsync($"{git}/commit", new { message = "Add hello", all = true, author = new { name = "Ada", email = "ada@example.com" } });
        var sha = commit.GetProperty("sha").GetString()!;
        Assert.Equal(40, sha.Length);
        await ExpectProblemAsync(await PostAsync($"{git}/commit", new { message = "again", all = true }), 409, "git-nothing-to-commit");
        var log = (await GetJsonAsync($"{git}/log?limit=2")).GetProperty("commits").EnumerateArray().ToList();
        Assert.Equal(2, log.Count);
        Assert.Equal(sha, log[0].GetProperty("sha").GetString());
        Assert.Equal("Add hello", log[0].GetProperty("subject").GetString());
        Assert.Equal("Ada", log[0].GetProperty("author").GetProperty("name").GetString());
        Assert.Equal("Env User", log[0].GetProperty("committer").GetProperty("name").GetString());
        Assert.Equal(log[1].GetProperty("sha").GetString(), Assert.Single(log[0].GetProperty("parents").EnumerateArray()).GetString());
        Assert.Equal(1, (await GetJsonAsync($"{git}/status")).GetProperty("ahead").GetInt32());

        // Push: the remote has the commit.
        var pushed = await PostJsonAsync($"{git}/push", new { });
        Assert.Equal(("origin", "main", sha), (pushed.GetProperty("remote").GetString(), pushed.GetProperty("branch").GetString(), pushed.GetProperty("head").GetString()));
        Assert.Equal(sha, (await GitDaemon.RunGitAsync(remote, "rev-parse", "main")).Trim());
        Assert.Equal("Add hello", (await GitDaemon.RunGitAsync(remote, "log", "-1", "--format=%s", "main")).Trim());

        // Checkout: an unknown branch is a 404; a new one is made and reported.
        await ExpectProblemAsync(await PostAsync($"{git}/checkout", new { branch = "no-such-branch" }), 404, "git-unknown-branch");
        var switched = await PostJsonAsync($"{git}/checkout", new { branch = "feature/x", create = true });
        Assert.Equal("feature/x", switched.GetProperty("branch").GetString());
        Assert.Equal("feature/x", (await GetJsonAsync($"/api/environments/{id}")).GetProperty("branch").GetString());
        await PostJsonAsync($"{git}/checkout", new { branch = "main" });

        // Someone else pushes to main: the environment's next push is not a fast-forward, and pulling conflicts.
        var other = Path.Combine(daemon.Root.FullName, "other");
        await GitDaemon.RunGitAsync(daemon.Root.FullName, "clone", "-q", remote, other);
        await File.WriteAllTextAsync(Path.Combine(other, "README.md"), "theirs\n");
        await GitDaemon.RunGitAsync(other, "commit", "-qam", "theirs");
        await GitDaemon.RunGitAsync(other, "push", "-q", "origin", "main");
        await ExecAsync(id, "app", "echo ours > README.md");
        await PostJsonAsync($"{git}/commit", new { message = "ours", paths = new[] { "README.md" } });
        var rejected = await ExpectProblemAsync(await PostAsync($"{git}/push", new { }), 409, "git-push-rejected");
        Assert.Equal("push-rejected", rejected.GetProperty("kind").GetString());
        var conflict = await ExpectProblemAsync(await PostAsync($"{git}/pull", new { }), 409, "git-merge-conflict");
        Assert.Equal(["README.md"], conflict.GetProperty("conflicts").EnumerateArray().Select(c => c.GetString()));
        status = await GetJsonAsync($"{git}/status");
        Assert.Equal(["README.md"], status.GetProperty("conflicts").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("unmerged", status.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("path").GetString() == "README.md").GetProperty("kind").GetString());
        await ExpectProblemAsync(await PostAsync($"{git}/commit", new { message = "resolve", all = true }), 409, "git-merge-conflict");

        // Bad git arguments name their field.
        await ExpectProblemAsync(await Http.GetAsync(new Uri($"{git}/log?limit=0", UriKind.Relative)), 400, "validation", field: "limit");
        await ExpectProblemAsync(await Http.GetAsync(new Uri($"{git}/log?limit=1001", UriKind.Relative)), 400, "validation", field: "limit");
        await ExpectProblemAsync(await PostAsync($"{git}/commit", new { message = "  " }), 400, "validation", field: "message");
        await ExpectProblemAsync(await PostAsync($"{git}/checkout", new { branch = "bad..name" }), 400, "validation", field: "branch");
        await ExpectProblemAsync(await PostAsync($"{git}/checkout", new { branch = "-x" }), 400, "validation", field: "branch");
        await ExpectProblemAsync(await Http.GetAsync(new Uri($"{git}/diff?path=../etc/passwd", UriKind.Relative)), 400, "validation", field: "path");

        // The list shows it with its instance state and branch; delete forgets it and destroys the instance.
        var listed = (await GetJsonAsync("/api/environments")).GetProperty("items").EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
        Assert.Equal(("ready", "started", "main"), (listed.GetProperty("status").GetString(), listed.GetProperty("instance_state").GetString(), listed.GetProperty("branch").GetString()));
        Assert.Equal("/workspace/app", listed.GetProperty("path").GetString());
        using (var deleted = await Http.DeleteAsync(new Uri($"/api/environments/{id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await ExpectProblemAsync(await Http.GetAsync(new Uri($"/api/environments/{id}", UriKind.Relative)), 404, "not-found");
        Assert.Equal("destroyed", (await GetJsonAsync($"/api/instances/{id}")).GetProperty("desired_state").GetString());
    }

    [Fact]
    public async Task APrivateHttpsStyleRemoteWorksWithTheTenantSecretAndTheTokenIsNowhereAfterwards()
    {
        var root = Directory.CreateTempSubdirectory("env-http-");
        var token = "tok-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var answers = new List<string>();
        try
        {
            var remote = await GitDaemon.CreateRepositoryAsync(root.FullName, "private.git");
            await using var server = await GitHttpServer.StartAsync(root.FullName, "alice", token);
            var url = new Uri(server.BaseAddress, "private.git").ToString();

            answers.Add(await ExpectStatusAsync(await PutAsync("/api/secrets/REPO_TOKEN", new { value = "alice:" + token }), HttpStatusCode.Created, HttpStatusCode.OK));
            var id = await CreateReadyAsync(new { name = "private", repo_url = url, region = "ams", size = "shared-cpu-1x", git_credentials_secret = "REPO_TOKEN" }, answers);
            var git = $"/api/environments/{id}/git";
            Assert.True(server.AuthorizedRequests > 0);

            await ExecAsync(id, "private", "echo secret-free > note.txt");
            answers.Add((await PostJsonAsync($"{git}/commit", new { message = "note", all = true })).ToString());
            answers.Add((await PostJsonAsync($"{git}/push", new { })).ToString());
            Assert.Equal("note", (await GitDaemon.RunGitAsync(remote, "log", "-1", "--format=%s", "main")).Trim());
            answers.Add((await PostJsonAsync($"{git}/pull", new { })).ToString());
            answers.Add((await GetJsonAsync($"{git}/status")).ToString());
            answers.Add((await GetJsonAsync($"/api/environments/{id}")).ToString());

            // A wrong token is an authentication failure, and the wrong token is not quoted either.
            var wrong = "wrong-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            answers.Add(await ExpectStatusAsync(await PutAsync("/api/secrets/REPO_TOKEN", new { value = "alice:" + wrong }), HttpStatusCode.OK));
            await ExecAsync(id, "private", "echo more >> note.txt");
            answers.Add((await PostJsonAsync($"{git}/commit", new { message = "more", all = true })).ToString());
            var refused = await ExpectProblemAsync(await PostAsync($"{git}/push", new { }), 502, "git-authentication-failed");
            answers.Add(refused.ToString());

            var runId = (await GetJsonAsync($"/api/environments/{id}")).GetProperty("run_id").GetString()!;
            using var events = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{runId}/events");
            events.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
            using var eventStream = await Http.SendAsync(events);
            var eventText = await eventStream.Content.ReadAsStringAsync();
            Assert.Contains("\"step_id\":\"clone\"", eventText, StringComparison.Ordinal);
            answers.Add(await Http.GetStringAsync(new Uri($"/api/runs/{runId}", UriKind.Relative)));

            var leaks = new List<string>();
            foreach (var (what, value) in new[] { ("the token", token), ("the wrong token", wrong) })
            {
                leaks.AddRange(fixture.Silo.Log.Lines.Where(l => l.Contains(value, StringComparison.Ordinal)).Select(l => $"{what} in the log: {l}"));
                leaks.AddRange(answers.Where(a => a.Contains(value, StringComparison.Ordinal)).Select(a => $"{what} in an answer: {a}"));
                if (eventText.Contains(value, StringComparison.Ordinal))
                {
                    leaks.Add($"{what} in the run's events");
                }

                leaks.AddRange(FilesContaining(fixture.Emulator.DataDirectory, value).Select(f => $"{what} in the machine's file {f}"));
            }

            Assert.True(leaks.Count == 0, string.Join("\n", leaks));
            using var deleted = await Http.DeleteAsync(new Uri($"/api/environments/{id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        finally
        {
            using var _ = await Http.DeleteAsync(new Uri("/api/secrets/REPO_TOKEN", UriKind.Relative));
            root.Delete(recursive: true);
        }
    }

    /// <summary>Creates the environment and waits until its run has made it; returns its id.</summary>
    private async Task<string> CreateReadyAsync(object body, List<string>? answers = null)
    {
        using var created = await PostAsync("/api/environments", body);
        var text = await created.Content.ReadAsStringAsync();
        answers?.Add(text);
        Assert.True(created.StatusCode == HttpStatusCode.Accepted, text);
        var environment = JsonDocument.Parse(text).RootElement;
        var id = environment.GetProperty("id").GetString()!;
        Assert.Equal($"/api/environments/{id}", created.Headers.Location?.ToString());
        Assert.Equal("creating", environment.GetProperty("status").GetString());
        var status = "";
        JsonElement last = default;
        await Wait.UntilAsync(
            async () =>
            {
                last = await GetJsonAsync($"/api/environments/{id}");
                status = last.GetProperty("status").GetString()!;
                return status != "creating";
            },
            $"environment {id} to be made",
            s_ready);
        answers?.Add(last.ToString());
        Assert.True(status == "ready", last.ToString());
        return id;
    }

    /// <summary>Runs a command in the checkout through the exec API, as a person at the machine would change files.</summary>
    private async Task ExecAsync(string instanceId, string checkout, string command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/instances/{instanceId}/exec")
        {
            Content = JsonContent.Create(new { command, cwd = "/workspace/" + checkout }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && JsonDocument.Parse(body).RootElement.GetProperty("exit_code").GetInt32() == 0, $"exec {command}: {body}");
    }

    private Task<HttpResponseMessage> PostAsync(string path, object body) => Http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);

    private Task<HttpResponseMessage> PutAsync(string path, object body) => Http.PutAsJsonAsync(new Uri(path, UriKind.Relative), body);

    private async Task<JsonElement> PostJsonAsync(string path, object body)
    {
        using var response = await PostAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<string> ExpectStatusAsync(HttpResponseMessage response, params HttpStatusCode[] expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(expected.Contains(response.StatusCode), $"{(int)response.StatusCode} {text}");
            return text;
        }
    }

    /// <summary>Asserts a problem of <c>https://orchestrator.dev/problems/{type}</c>, naming <paramref name="field"/> when given.</summary>
    private static async Task<JsonElement> ExpectProblemAsync(HttpResponseMessage response, int status, string type, string? field = null)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == status, $"expected {status} {type}, got {(int)response.StatusCode}: {text}");
            var problem = JsonDocument.Parse(text).RootElement.Clone();
            Assert.Equal("https://orchestrator.dev/problems/" + type, problem.GetProperty("type").GetString());
            if (field is not null)
            {
                Assert.Equal(field, problem.GetProperty("field").GetString());
            }

            return problem;
        }
    }

    /// <summary>Every regular file under <paramref name="directory"/> holding <paramref name="value"/>.</summary>
    private static IEnumerable<string> FilesContaining(string directory, string value)
    {
        var needle = Encoding.UTF8.GetBytes(value);
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var file in Directory.EnumerateFiles(directory, "*", options))
        {
            byte[] bytes;
            try
            {
                var info = new FileInfo(file);
                if (info.Length > 64 * 1024 * 1024)
                {
                    continue;
                }

                bytes = File.ReadAllBytes(file);
            }
            catch (IOException)
            {
                continue; // sockets, FIFOs
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (bytes.AsSpan().IndexOf(needle) >= 0)
            {
                yield return file;
            }
        }
    }
}
