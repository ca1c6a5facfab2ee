namespace Orchestrator.Workflows.Tests;

public sealed class SecretReferencesTests
{
    [Fact]
    public void NamesEverySecretReadInAnyStepParameterOnce()
    {
        var result = WorkflowDefinitionReader.Read("""
            name: refs
            steps:
              - id: one
                uses: ssh.exec
                with:
                  instance: box
                  command: "curl -H 'Authorization: ${{ secrets.API_TOKEN }}' https://example.com"
                  env: { PASSWORD: "${{ secrets.DB_PASSWORD }}", AGAIN: "${{ secrets.API_TOKEN }}" }
            finally:
              - id: two
                uses: ssh.exec
                with: { instance: box, command: "echo ${{ secrets.CLEANUP_KEY }} done" }
            """, WorkflowFormat.Yaml);

        Assert.True(result.Definition is not null, string.Join("; ", result.Errors));
        Assert.Equal(["API_TOKEN", "CLEANUP_KEY", "DB_PASSWORD"], SecretReferences.In(result.Definition!));
    }

    [Fact]
    public void ADefinitionWithoutSecretsNamesNone()
    {
        var result = WorkflowDefinitionReader.Read("name: none\nsteps:\n  - id: nap\n    uses: sleep\n    with: { duration: 1s }\n", WorkflowFormat.Yaml);

        Assert.Empty(SecretReferences.In(result.Definition!));
    }
}
