#!/usr/bin/env node
// dynalite, counting the requests it serves by operation.
//
// Takes dynalite's own command-line options (--host, --port, --createTableMs
// ...). Every request with an X-Amz-Target header is counted under the
// operation it names (`DynamoDB_20120810.GetItem` counts as `GetItem`)
// before dynalite handles it, whatever client sent it. `GET /_counts`
// answers the counts so far as a JSON object, e.g. {"GetItem": 3}.
'use strict'

var argv = require('minimist')(process.argv.slice(2))
var dynalite = require('dynalite')

var server = dynalite(argv)
var handle = server.listeners('request')[0]
var counts = {}

server.removeAllListeners('request')
server.on('request', function (req, res) {
  if (req.method === 'GET' && req.url === '/_counts') {
    var body = JSON.stringify(counts)
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    })
    res.end(body)
    return
  }
  var target = req.headers['x-amz-target']
  if (target) {
    var operation = target.slice(target.lastIndexOf('.') + 1)
    counts[operation] = (counts[operation] || 0) + 1
  }
  handle(req, res)
})

server.listen(argv.port || 4567, argv.host || undefined, function () {
  var address = server.address()
  console.log('counting dynalite listening at http://%s:%s', argv.host || 'localhost', address.port)
})
