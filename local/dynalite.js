#!/usr/bin/env node
// Starts dynalite in memory on the given host and port, as its own CLI does with
// --createTableMs 0 --deleteTableMs 0 --updateTableMs 0, but survives clients that abort a request
// mid-flight: dynalite 4.0.0 rethrows the request's "aborted" error from an event handler, which
// ends the whole process. DynamoDB itself shrugs such aborts off, and our function does abort
// lookups it no longer needs.
//
// Usage: node local/dynalite.js <host> <port>
'use strict'

const dynalite = require('dynalite')

const [host, port] = process.argv.slice(2)
if (!host || !port) {
  console.error('usage: node local/dynalite.js <host> <port>')
  process.exit(2)
}

process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) return
  console.error(err)
  process.exit(1)
})

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(Number(port), host, () => {
  console.log('Dynalite listening at: http://%s:%s', host, server.address().port)
})
