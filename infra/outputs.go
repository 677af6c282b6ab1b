package infra

// Stack output keys, defined once here where the program exports them;
// stacks re-exports them for the readers (deployctl, the release driver)
// and workflows read the same names.
const (
	OutputEnvironment           = "environment"
	OutputAccountID             = "accountId"
	OutputRegion                = "region"
	OutputRelease               = "release"
	OutputClusterName           = "clusterName"
	OutputClusterArn            = "clusterArn"
	OutputTaskSubnetIDs         = "taskSubnetIds"
	OutputTaskSecurityGroupID   = "taskSecurityGroupId"
	OutputAlbDNSName            = "albDnsName"
	OutputSiteBucketName        = "siteBucketName"
	OutputSiteDistributionID    = "siteDistributionId"
	OutputSiteDistributionArn   = "siteDistributionArn"
	OutputSiteURL               = "siteUrl"
	OutputOIDCProviderArn       = "oidcProviderArn"
	OutputInfraRoleArn          = "infraRoleArn"
	OutputPreviewRoleArn        = "previewRoleArn"
	OutputFrontendDeployRoleArn = "frontendDeployRoleArn"
	// OutputGitHubEnvironments maps each gated pipeline ("api", "mcp",
	// "frontend", "infra") to the GitHub environment its role trusts
	// (GitHubEnvironment).
	OutputGitHubEnvironments = "githubEnvironments"
)

// Per-service output suffixes; the key is the service name followed by the
// suffix, for example "apiServiceName" (see ServiceOutput).
const (
	SuffixServiceName                = "ServiceName"
	SuffixServiceArn                 = "ServiceArn"
	SuffixTaskDefinitionArn          = "TaskDefinitionArn"
	SuffixContainerName              = "ContainerName"
	SuffixLogGroupName               = "LogGroupName"
	SuffixRepositoryURL              = "RepositoryUrl"
	SuffixTargetGroupArn             = "TargetGroupArn"
	SuffixURL                        = "Url"
	SuffixDeployRoleArn              = "DeployRoleArn"
	SuffixImage                      = "Image"
	SuffixMigrationImage             = "MigrationImage"
	SuffixMigrationTaskDefinitionArn = "MigrationTaskDefinitionArn"
	SuffixMigrationContainerName     = "MigrationContainerName"
)

// ServiceOutput is the output key for one service, such as
// ServiceOutput("api", SuffixServiceName) == "apiServiceName".
func ServiceOutput(service, suffix string) string { return service + suffix }
