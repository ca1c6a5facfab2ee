namespace Orchestrator.Workflows;

/// <summary>The type a <c>with</c> parameter must have (a string holding a <c>${{ }}</c> template fits any scalar kind).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members are the type names of the definition language.")]
public enum ParameterKind
{
    String = 0,
    Integer = 1,
    Boolean = 2,
    Duration = 3,
    /// <summary>A map of names to strings, e.g. environment variables.</summary>
    StringMap = 4,
    IntegerList = 5,
    /// <summary>One integer or a list of them, e.g. accepted HTTP statuses.</summary>
    IntegerOrList = 6,
    /// <summary>A volume: <c>{ size_gb, path }</c> to create one, or <c>{ id, path }</c> to mount a kept one.</summary>
    Volume = 7,
    /// <summary>A map of anything, e.g. a child workflow's inputs.</summary>
    AnyMap = 8,
    /// <summary>A string or an integer, e.g. a version.</summary>
    StringOrInteger = 9,
    /// <summary>A machine size: a preset name such as <c>shared-cpu-2x</c>, or <c>{ cpus, memory_mb, cpu_kind }</c>.</summary>
    Size = 10,
}

public sealed record ParameterSpec(string Name, ParameterKind Kind, bool Required, string Description);

/// <summary>
/// A step type: its parameters; <c>BuiltInOutputs</c>, set by every step of the type; <c>CaptureSources</c>,
/// where declared <c>outputs</c> may capture from (empty: no declared outputs); <c>AnyOutput</c>, true when
/// output names cannot be known statically (a child workflow's); <c>OneOf</c>, groups of parameters of
/// which exactly one must be given.
/// </summary>
public sealed record StepTypeSpec(
    string Name,
    string Description,
    ValueList<ParameterSpec> Parameters,
    ValueList<string> BuiltInOutputs,
    ValueList<OutputSource> CaptureSources,
    bool AnyOutput,
    ValueList<ValueList<string>> OneOf)
{
    public ParameterSpec? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>Steps of this type act on one instance, so <c>${{ instance.* }}</c> is in scope.</summary>
    public bool TargetsInstance => Parameter("instance") is not null;
}

/// <summary>The catalog of step types and their parameters: the single source for validation and the JSON Schema.</summary>
public static class StepTypes
{
    /// <summary>
    /// The output a step sets beside each declared capture <paramref name="name"/>: true when the captured value was
    /// longer than a run keeps (64 KiB by default) and was cut (a text) or dropped (a list or mapping).
    /// </summary>
    public static string TruncatedOutput(string name) => name + "_truncated";

    public const string InstanceCreate = "instance.create";
    public const string InstanceStart = "instance.start";
    public const string InstanceStop = "instance.stop";
    public const string InstanceDestroy = "instance.destroy";
    public const string InstanceResize = "instance.resize";
    public const string InstanceExtendVolume = "instance.extend_volume";
    public const string SshExec = "ssh.exec";
    public const string GitClone = "git.clone";
    public const string SessionOpen = "session.open";
    public const string HttpCheck = "http.check";
    public const string Sleep = "sleep";
    public const string WaitForSignal = "wait_for_signal";
    public const string Parallel = "parallel";
    public const string Workflow = "workflow";

    private static readonly ParameterSpec s_instance = new("instance", ParameterKind.String, true, "The instance id, usually ${{ steps.<create step>.outputs.id }}.");

    public static ValueList<StepTypeSpec> All { get; } = new(
    [
        Spec(InstanceCreate, "Creates a machine (idempotent per run, step and attempt).",
            [
                new("name", ParameterKind.String, true, "Machine name."),
                new("region", ParameterKind.String, true, "Fly region, e.g. iad."),
                new("size", ParameterKind.Size, true, "Machine size: a preset such as shared-cpu-1x, or { cpus, memory_mb, cpu_kind }."),
                new("image", ParameterKind.String, false, "Container image; the orchestrator's base image when omitted."),
                new("env", ParameterKind.StringMap, false, "Environment variables of the machine."),
                new("volume", ParameterKind.Volume, false, "A volume { size_gb, path } created and mounted with the machine, or { id, path }: a volume one of the tenant's destroyed instances kept."),
                new("public_ip", ParameterKind.Boolean, false, "Allocate a public IP address."),
            ],
            outputs: ["id", "name", "region", "private_ip", "private_address", "public_ip", "public_address", "machine_id", "volume_id"]),
        Spec(InstanceStart, "Starts a stopped instance.", [s_instance], outputs: ["id", "state"]),
        Spec(InstanceStop, "Stops a running instance.", [s_instance], outputs: ["id", "state"]),
        Spec(InstanceDestroy, "Destroys an instance.",
            [s_instance, new("keep_volume", ParameterKind.Boolean, false, "Keep the instance's volume.")],
            outputs: ["id", "state", "volume_id"]),
        Spec(InstanceResize, "Gives an instance's machine another size; Fly restarts it with the new CPUs and memory.",
            [s_instance, new("size", ParameterKind.Size, true, "The new size: a preset such as shared-cpu-2x, or { cpus, memory_mb, cpu_kind }.")],
            outputs: ["id", "state", "cpu_kind", "cpus", "memory_mb"]),
        Spec(InstanceExtendVolume, "Grows an instance's volume (volumes never shrink).",
            [s_instance, new("size_gb", ParameterKind.Integer, true, "The volume's new size in GB: more than its size now, at most 500.")],
            outputs: ["id", "volume_id", "size_gb"]),
        Spec(SshExec, "Runs a command or a script on an instance over SSH.",
            [
                s_instance,
                new("command", ParameterKind.String, false, "One command line; interpolated values are shell-quoted."),
                new("script", ParameterKind.String, false, "A multi-line script; interpolated values are shell-quoted."),
                new("env", ParameterKind.StringMap, false, "Environment variables for the command."),
                new("cwd", ParameterKind.String, false, "Working directory."),
                new("timeout", ParameterKind.Duration, false, "Time limit for the command."),
                new("accepted_exit_codes", ParameterKind.IntegerList, false, "Exit codes that count as success; [0] when omitted."),
            ],
            outputs: ["exit_code", "stdout", "stdout_truncated", "stderr", "stderr_truncated"],
            sources: [OutputSource.Stdout, OutputSource.Stderr],
            oneOf: [["command", "script"]]),
        Spec(GitClone, "Clones a git repository on an instance (a checkout an earlier attempt made is kept); https credentials come from a tenant secret and reach git only through its standard input.",
            [
                s_instance,
                new("repo_url", ParameterKind.String, true, "The repository's URL (https, http, ssh or git)."),
                new("path", ParameterKind.String, true, "Absolute directory of the checkout on the machine."),
                new("branch", ParameterKind.String, false, "The branch to check out; the remote's default branch when omitted."),
                new("credentials_secret", ParameterKind.String, false, "A tenant secret holding an https token (token or username:token)."),
                new("timeout", ParameterKind.Duration, false, "Time limit for the clone (10m when omitted)."),
            ],
            outputs: ["path", "commit", "branch"]),
        Spec(SessionOpen, "Opens a persistent terminal session (tmux) on an instance, as POST /api/instances/{id}/sessions does; the same run, step and attempt open the same session.",
            [
                s_instance,
                new("name", ParameterKind.String, false, "The session's name (letters, digits, '.', '_', '-'); its id when omitted."),
                new("command", ParameterKind.String, false, "The program to run; the login shell when omitted."),
                new("cwd", ParameterKind.String, false, "The directory to start in; it must exist."),
            ],
            outputs: ["id", "name"]),
        Spec(HttpCheck, "Polls a URL until it answers with an expected status, or times out.",
            [
                new("url", ParameterKind.String, true, "The URL to poll."),
                new("expect_status", ParameterKind.IntegerOrList, false, "Expected status or statuses; 200 when omitted."),
                new("timeout", ParameterKind.Duration, false, "Give up after this long."),
                new("interval", ParameterKind.Duration, false, "Delay between attempts."),
            ],
            outputs: ["status", "body"],
            sources: [OutputSource.Body]),
        Spec(Sleep, "Waits durably (survives silo restarts).",
            [new("duration", ParameterKind.Duration, true, "How long to wait, e.g. 30s or 5m.")]),
        Spec(WaitForSignal, "Waits for a named signal (an approval or an external event) and its payload.",
            [
                new("name", ParameterKind.String, true, "Signal name."),
                new("timeout", ParameterKind.Duration, false, "Fail the step when no signal arrives in time."),
            ],
            outputs: ["payload"]),
        Spec(Parallel, "Runs its branches concurrently and continues when all have finished.", []),
        Spec(Workflow, "Starts a child run of another workflow and waits for it.",
            [
                new("workflow", ParameterKind.String, true, "Name of the child workflow."),
                new("version", ParameterKind.StringOrInteger, false, "Version of the child workflow; the latest when omitted."),
                new("inputs", ParameterKind.AnyMap, false, "Inputs of the child run."),
            ],
            outputs: ["run_id", "status"],
            anyOutput: true),
    ]);

    public static StepTypeSpec? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    private static StepTypeSpec Spec(
        string name,
        string description,
        ParameterSpec[] parameters,
        string[]? outputs = null,
        OutputSource[]? sources = null,
        bool anyOutput = false,
        string[][]? oneOf = null) =>
        new(
            name,
            description,
            new(parameters),
            new(outputs ?? []),
            new(sources ?? []),
            anyOutput,
            new((oneOf ?? []).Select(static g => new ValueList<string>(g))));
}
