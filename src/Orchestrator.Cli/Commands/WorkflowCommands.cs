using System.CommandLine;
using System.Text;
using Orchestrator.Cli.Api;
using Orchestrator.Workflows;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch workflows validate|register|list|show</c>.</summary>
internal static class WorkflowCommands
{
    public static Command Build(CliApp app)
    {
        var workflows = Args.Command("workflows", "Workflow definitions: validate offline, register, list, show.", "orch workflows validate deploy.yaml", "orch workflows register deploy.yaml");
        workflows.Aliases.Add("workflow");

        var validate = Args.Command("validate", "Check a definition here, with the server's rules: every error with its line and column. Exits 1 when there are errors.", "orch workflows validate deploy.yaml");
        var file = new Argument<string>("FILE");
        validate.Add(file);
        app.SetLocalAction(validate, async (parse, ui, ct) =>
        {
            var path = parse.GetValue(file)!;
            var text = await ReadAsync(path, ct);
            var result = WorkflowDefinitionReader.Read(text, WorkflowDefinitionReader.DetectFormat(text));
            var errors = result.Errors.Select(static e => new WorkflowErrorItem(e.Code, e.Path, e.Line, e.Column, e.Message)).ToList();
            if (ui.Json)
            {
                ui.WriteJson(new ValidationReport(path, errors.Count == 0, errors), ApiJson.Default.ValidationReport);
            }
            else if (errors.Count == 0)
            {
                ui.Line($"{path}: valid ({result.Definition!.Name}, {result.Definition.Steps.Count} steps)");
            }
            else
            {
                foreach (var e in errors)
                {
                    ui.Line($"{path}:{e.Line}:{e.Column}: {e.Message} ({e.Code} at {e.Path})");
                }
            }

            return errors.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        workflows.Add(validate);

        var register = Args.Command("register", "Register a definition (a new version when it changed).", "orch workflows register deploy.yaml");
        var registerFile = new Argument<string>("FILE");
        register.Add(registerFile);
        app.SetApiAction(register, async (c, ct) =>
        {
            var path = c.Parse.GetValue(registerFile)!;
            var text = await ReadAsync(path, ct);
            var mediaType = WorkflowDefinitionReader.DetectFormat(text) == WorkflowFormat.Json ? "application/json" : "application/yaml";
            var version = await c.Api.SendAsync(HttpMethod.Post, "/api/workflows", ApiJson.Default.WorkflowVersion, ct, new StringContent(text, Encoding.UTF8, mediaType));
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(version, ApiJson.Default.WorkflowVersion);
            }
            else
            {
                c.Ui.Line($"{version.Name} version {version.Version} ({version.Sha256[..12]})");
            }

            return ExitCodes.Success;
        });
        workflows.Add(register);

        var list = Args.Command("list", "List workflows.", "orch workflows list");
        list.Aliases.Add("ls");
        app.SetApiAction(list, async (c, ct) =>
        {
            var all = await c.Api.GetAsync("/api/workflows", ApiJson.Default.WorkflowList, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(all, ApiJson.Default.WorkflowList);
            }
            else
            {
                c.Ui.WriteTable(["name", "latest", "built-in"], all.Items.Select(static w => new[] { w.Name, w.LatestVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), w.BuiltIn ? "yes" : "no" }));
            }

            return ExitCodes.Success;
        });
        workflows.Add(list);

        var show = Args.Command("show", "Show a workflow's versions, or one version's source with --version.", "orch workflows show deploy", "orch workflows show deploy --version 2");
        var name = new Argument<string>("NAME");
        var version = new Option<int?>("--version") { Description = "Show this version's definition." };
        show.Add(name);
        show.Add(version);
        app.SetApiAction(show, async (c, ct) =>
        {
            var workflow = Args.Escape(c.Parse.GetValue(name)!);
            if (c.Parse.GetValue(version) is { } number)
            {
                var one = await c.Api.GetAsync($"/api/workflows/{workflow}/versions/{number}", ApiJson.Default.WorkflowVersion, ct);
                if (c.Ui.Json)
                {
                    c.Ui.WriteJson(one, ApiJson.Default.WorkflowVersion);
                }
                else
                {
                    System.Console.Out.Write(one.Source);
                }

                return ExitCodes.Success;
            }

            var all = await c.Api.GetAsync($"/api/workflows/{workflow}", ApiJson.Default.Workflow, ct);
            if (c.Ui.Json)
            {
                c.Ui.WriteJson(all, ApiJson.Default.Workflow);
            }
            else
            {
                c.Ui.WriteTable(["version", "sha256", "created", "description"], all.Versions.Select(static v => new[] { v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Sha256[..12], Args.Time(v.CreatedAt), v.Description }));
            }

            return ExitCodes.Success;
        });
        workflows.Add(show);
        return workflows;
    }

    private static async Task<string> ReadAsync(string path, CancellationToken ct)
    {
        try
        {
            return path == "-" ? await System.Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot read {path}: {ex.Message}");
        }
    }
}
