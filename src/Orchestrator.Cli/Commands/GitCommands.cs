using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch git ...</c>: git on an environment's checkout (status, diff, log, commit, push, pull, checkout). Git's
/// refusals are API problems (git-nothing-to-commit, git-push-rejected, ...), so they exit by status like any other.
/// </summary>
internal static class GitCommands
{
    public static Command Build(CliApp app)
    {
        var git = Args.Command("git", "Git on an environment's checkout.",
            "orch git status env-3f9c2a", "orch git commit env-3f9c2a -m 'Fix the build' --all", "orch git push env-3f9c2a");
        git.Add(Status(app));
        git.Add(Diff(app));
        git.Add(Log(app));
        git.Add(Commit(app));
        git.Add(Push(app));
        git.Add(Pull(app));
        git.Add(Checkout(app));
        return git;
    }

    private static string Base(string environmentId) => $"/api/environments/{Args.Escape(environmentId)}/git";

    private static Argument<string> Env(Command command)
    {
        var env = new Argument<string>("ENV") { Description = "The environment's id." };
        command.Add(env);
        return env;
    }

    private static Command Status(CliApp app)
    {
        var command = Args.Command("status", "Branch, upstream, ahead/behind and the changed files with their short states (index, worktree).", "orch git status env-3f9c2a", "orch git status env-3f9c2a -o json | jq .clean");
        var env = Env(command);
        app.SetApiAction(command, async (c, ct) =>
        {
            PrintStatus(c, await c.Api.GetAsync($"{Base(c.Parse.GetValue(env)!)}/status", ApiJson.Default.GitStatus, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Diff(CliApp app)
    {
        var command = Args.Command("diff", "Print the unified diff of the worktree (or, with --staged, of the index).", "orch git diff env-3f9c2a", "orch git diff env-3f9c2a --path src/app.cs --staged");
        var env = Env(command);
        var path = new Option<string?>("--path") { Description = "Only this path, relative to the checkout." };
        var staged = new Option<bool>("--staged") { Description = "The staged changes (index against HEAD)." };
        command.Add(path);
        command.Add(staged);
        app.SetApiAction(command, async (c, ct) =>
        {
            var query = new List<string>();
            if (c.Parse.GetValue(path) is { } p)
            {
                query.Add("path=" + Args.Escape(p));
            }

            if (c.Parse.GetValue(staged))
            {
                query.Add("staged=true");
            }

            var request = new HttpRequestMessage(HttpMethod.Get, $"{Base(c.Parse.GetValue(env)!)}/diff" + (query.Count == 0 ? "" : "?" + string.Join('&', query)));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            using var response = await c.Api.SendAsync(request, ct);
            await using (var stdout = System.Console.OpenStandardOutput())
            {
                await response.Content.CopyToAsync(stdout, ct);
            }

            if (response.Headers.TryGetValues("Diff-Truncated", out var truncated) && truncated.Contains("true"))
            {
                c.Ui.Note("note: the diff was longer than 1 MiB and was cut.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Log(CliApp app)
    {
        var command = Args.Command("log", "The latest commits of HEAD, newest first.", "orch git log env-3f9c2a --limit 5");
        var env = Env(command);
        var limit = new Option<int?>("--limit", "-n") { Description = "How many commits (default 20)." };
        command.Add(limit);
        app.SetApiAction(command, async (c, ct) =>
        {
            var log = await c.Api.GetAsync($"{Base(c.Parse.GetValue(env)!)}/log" + (c.Parse.GetValue(limit) is { } n ? string.Create(CultureInfo.InvariantCulture, $"?limit={n}") : ""), ApiJson.Default.GitLog, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(log, ApiJson.Default.GitLog);
                return ExitCodes.Success;
            }

            foreach (var commit in log.Commits)
            {
                c.Ui.Line($"{commit.Sha[..Math.Min(12, commit.Sha.Length)]}  {Args.Time(commit.AuthoredAt)}  {commit.Author.Name,-20}  {commit.Subject}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Commit(CliApp app)
    {
        var command = Args.Command("commit", "Commit every change (--all), the given paths, or else what is staged; prints the new commit's sha.",
            "orch git commit env-3f9c2a -m 'Fix the build' --all", "orch git commit env-3f9c2a -m 'Docs' README.md docs/intro.md --author 'Ada <ada@example.com>'");
        var env = Env(command);
        var paths = new Argument<string[]>("PATH") { Description = "Commit only these paths (staging them first).", Arity = ArgumentArity.ZeroOrMore };
        var message = new Option<string>("--message", "-m") { Description = "The commit message.", Required = true };
        var all = new Option<bool>("--all", "-a") { Description = "Stage and commit every change, untracked files included." };
        var author = new Option<string?>("--author") { Description = "The author, \"Name <email>\"; the checkout's configured identity when omitted." };
        command.Add(paths);
        command.Add(message);
        command.Add(all);
        command.Add(author);
        app.SetApiAction(command, async (c, ct) =>
        {
            var given = c.Parse.GetValue(paths) ?? [];
            if (given.Length > 0 && c.Parse.GetValue(all))
            {
                throw new CliException(ExitCodes.Usage, "Give --all or paths, not both.");
            }

            var request = new GitCommitRequest(c.Parse.GetValue(message)!, given.Length == 0 ? null : given, c.Parse.GetValue(all) ? true : null, Author(c.Parse.GetValue(author)));
            var result = await c.Api.SendJsonAsync(HttpMethod.Post, $"{Base(c.Parse.GetValue(env)!)}/commit", request, ApiJson.Default.GitCommitRequest, ApiJson.Default.GitCommitResult, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(result, ApiJson.Default.GitCommitResult);
            }
            else
            {
                c.Ui.Line(result.Sha);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Push(CliApp app)
    {
        var command = Args.Command("push", "Push a branch (the current one by default) to a remote (origin by default).", "orch git push env-3f9c2a", "orch git push env-3f9c2a --branch feature/x --set-upstream");
        var env = Env(command);
        var remote = new Option<string?>("--remote") { Description = "The remote (default origin)." };
        var branch = new Option<string?>("--branch") { Description = "The branch (default the current one)." };
        var setUpstream = new Option<bool>("--set-upstream", "-u") { Description = "Make the remote branch the local branch's upstream." };
        command.Add(remote);
        command.Add(branch);
        command.Add(setUpstream);
        app.SetApiAction(command, async (c, ct) =>
        {
            var request = new GitPushRequest(c.Parse.GetValue(remote), c.Parse.GetValue(branch), c.Parse.GetValue(setUpstream) ? true : null);
            var result = await c.Api.SendJsonAsync(HttpMethod.Post, $"{Base(c.Parse.GetValue(env)!)}/push", request, ApiJson.Default.GitPushRequest, ApiJson.Default.GitPushResult, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(result, ApiJson.Default.GitPushResult);
            }
            else
            {
                c.Ui.Line(result.UpToDate ? $"{result.Remote}/{result.Branch} is up to date at {Short(result.Head)}." : $"Pushed {result.Branch} to {result.Remote} at {Short(result.Head)}.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Pull(CliApp app)
    {
        var command = Args.Command("pull", "Fetch and merge the upstream (never rebases); a conflict exits 5 naming the paths.", "orch git pull env-3f9c2a");
        var env = Env(command);
        app.SetApiAction(command, async (c, ct) =>
        {
            var result = await c.Api.SendAsync(HttpMethod.Post, $"{Base(c.Parse.GetValue(env)!)}/pull", ApiJson.Default.GitPullResult, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(result, ApiJson.Default.GitPullResult);
            }
            else
            {
                c.Ui.Line(result.Updated ? $"Updated {Short(result.Before)}..{Short(result.After)}." : "Already up to date.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Checkout(CliApp app)
    {
        var command = Args.Command("checkout", "Switch to a branch (--create makes it from HEAD); prints the status after.", "orch git checkout env-3f9c2a main", "orch git checkout env-3f9c2a feature/x --create");
        var env = Env(command);
        var branch = new Argument<string>("BRANCH");
        var create = new Option<bool>("--create", "-b") { Description = "Create the branch from HEAD." };
        command.Add(branch);
        command.Add(create);
        app.SetApiAction(command, async (c, ct) =>
        {
            var request = new GitCheckoutRequest(c.Parse.GetValue(branch)!, c.Parse.GetValue(create) ? true : null);
            PrintStatus(c, await c.Api.SendJsonAsync(HttpMethod.Post, $"{Base(c.Parse.GetValue(env)!)}/checkout", request, ApiJson.Default.GitCheckoutRequest, ApiJson.Default.GitStatus, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>"Name &lt;email&gt;" as git writes it.</summary>
    private static GitPerson? Author(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var open = value.LastIndexOf('<');
        if (open <= 0 || !value.EndsWith('>') || value[..open].Trim().Length == 0 || open + 2 >= value.Length)
        {
            throw new CliException(ExitCodes.Usage, $"--author '{value}' is not \"Name <email>\".");
        }

        return new GitPerson(value[..open].Trim(), value[(open + 1)..^1].Trim());
    }

    private static void PrintStatus(CommandContext c, GitStatus s)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(s, ApiJson.Default.GitStatus);
            return;
        }

        c.Ui.Line(s.Detached ? $"HEAD detached at {Short(s.Head)}" : $"On branch {s.Branch ?? "(none)"}{(s.Head is null ? ", no commits yet" : $" at {Short(s.Head)}")}");
        if (s.Upstream is not null)
        {
            c.Ui.Line($"Upstream {s.Upstream}: ahead {s.Ahead ?? 0}, behind {s.Behind ?? 0}");
        }

        if (s.Clean)
        {
            c.Ui.Line("Clean: nothing to commit.");
            return;
        }

        foreach (var file in s.Files)
        {
            var state = file.Kind switch
            {
                "untracked" => "??",
                "ignored" => "!!",
                _ => $"{Letter(file.Index)}{Letter(file.Worktree)}",
            };
            c.Ui.Line($"{state} {(file.OriginalPath is null ? file.Path : $"{file.OriginalPath} -> {file.Path}")}");
        }

        foreach (var conflict in s.Conflicts.Where(p => !s.Files.Any(f => f.Path == p)))
        {
            c.Ui.Line($"UU {conflict}");
        }
    }

    /// <summary>git status --short's letter for a state.</summary>
    private static char Letter(string state) => state switch
    {
        "modified" => 'M',
        "type_changed" => 'T',
        "added" => 'A',
        "deleted" => 'D',
        "renamed" => 'R',
        "copied" => 'C',
        "unmerged" => 'U',
        "untracked" => '?',
        "ignored" => '!',
        _ => ' ',
    };

    private static string Short(string? sha) => sha is null ? "-" : sha[..Math.Min(12, sha.Length)];
}
