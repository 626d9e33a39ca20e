// Interop helper: run DCQL queries through the independent `dcql` npm package (3.0.0).
// stdin:  {"cases": [{"query": <dcql_query>, "credentials": [<DcqlCredential>...]}]}
// stdout: {"results": [{"error": "<ErrorClass>"} | {"can_be_satisfied", "credential_matches", "credential_sets"}]}
// credential_matches[qid] = {"success": bool, "valid": [[input_credential_index, first valid claim_set_index|null]]}
import { DcqlQuery } from 'dcql'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

function summarize(query, credentials) {
  let parsed
  try {
    parsed = DcqlQuery.parse(query)
    DcqlQuery.validate(parsed)
  } catch (e) {
    return { error: e?.constructor?.name ?? 'Error' }
  }
  const result = DcqlQuery.query(parsed, credentials)
  const matches = {}
  for (const [qid, m] of Object.entries(result.credential_matches)) {
    const valid = (m.valid_credentials ?? []).map((c) => {
      const sets = c.claims?.valid_claim_sets ?? []
      const first = sets.length ? sets[0].claim_set_index : undefined
      return [c.input_credential_index, first === undefined ? null : first]
    })
    matches[qid] = { success: m.success, valid }
  }
  const sets = result.credential_sets
    ? result.credential_sets.map((s) => ({ required: s.required !== false, matching_options: s.matching_options ?? [] }))
    : null
  return { can_be_satisfied: result.can_be_satisfied, credential_matches: matches, credential_sets: sets }
}

const results = input.cases.map((c) => summarize(c.query, c.credentials))
process.stdout.write(JSON.stringify({ results }))
