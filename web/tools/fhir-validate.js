#!/usr/bin/env node
// Validates FHIR R4 JSON resources offline with the npm `fhir` package (FHIR.js), for Careway's
// Go tests (handlers/handlerstest/fhir.go runs it once per test with every resource batched).
//
// stdin:  a JSON array of resources.
// stdout: a JSON array with one entry per resource, in order: {messages: [{severity, location,
//         message}]}. severity is fatal, error, warning or info, as FHIR.js reports it.
//
// FHIR.js checks structure against the R4 StructureDefinitions (cardinality, types, primitive
// formats, required bindings it can expand, reference target types). Run with errorOnUnexpected
// so that an element R4 does not define is an error, not a warning. It does not check the JSON
// representation rules of R4 ("JSON representation", 2.6.2): no nulls, no empty strings, arrays
// or objects, so this script adds them as errors. These are exactly what a Go struct with a
// missing `omitempty` produces. It also closes three gaps of FHIR.js 4.12.0 (see below):
// unanchored primitive patterns, unchecked instants, and choice elements given twice.
'use strict';

const { Fhir } = require('fhir');
const { Constants } = require('fhir/constants');

// FHIR.js 4.12.0 tests primitive formats with unanchored regular expressions, so "1950-13-01"
// passes as a date (the "1950" prefix matches). Anchor each one (the validator reads them from
// Constants at each check), so a malformed date, dateTime, id or number is an error.
for (const key of Object.keys(Constants)) {
  const re = Constants[key];
  if (re instanceof RegExp && /^Primitive\w+Regex$/.test(key) && !re.source.startsWith('^')) {
    Constants[key] = new RegExp('^(?:' + re.source + ')$', re.flags);
  }
}

function jsonRuleErrors(value, path, out) {
  if (value === null) {
    out.push({ severity: 'error', location: path, message: 'null is not allowed in FHIR JSON' });
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push({ severity: 'error', location: path, message: 'empty array is not allowed in FHIR JSON' });
    }
    value.forEach((v, i) => jsonRuleErrors(v, path + '[' + i + ']', out));
  } else if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) {
      out.push({ severity: 'error', location: path, message: 'empty object is not allowed in FHIR JSON' });
    }
    for (const k of keys) {
      jsonRuleErrors(value[k], path ? path + '.' + k : k, out);
    }
  } else if (typeof value === 'string') {
    if (value.trim() === '') {
      out.push({ severity: 'error', location: path, message: 'empty or blank string is not allowed in FHIR JSON' });
    }
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    out.push({ severity: 'error', location: path, message: 'number is not finite' });
  }
}

// FHIR.js accepts two values of one choice element (valueQuantity and valueString together).
// R4 allows one: wrap validateProperties to report the second.
const { Validator } = require('fhir/validator');
const validateProperties = Validator.prototype.validateProperties;
Validator.prototype.validateProperties = function (obj, properties, tree) {
  if (obj && typeof obj === 'object') {
    const seen = {};
    for (const property of properties) {
      if (property._choice && Object.prototype.hasOwnProperty.call(obj, property._name)) {
        if (seen[property._choice]) {
          this.addError(Validator.getTreeDisplay(tree, false, property._name),
            'Only one of ' + property._choice + '[x] may be present; ' + seen[property._choice] + ' is present too');
        }
        seen[property._choice] = property._name;
      }
    }
  }
  return validateProperties.call(this, obj, properties, tree);
};

// The R4 instant pattern (FHIR.js has none).
const instantRegex = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;

function checkInstant(resource, property, location, value) {
  if (property._type !== 'instant') {
    return [];
  }
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v) => typeof v !== 'string' || !instantRegex.test(v)).map((v) => (
    { severity: 'error', location, message: 'Invalid instant format for value "' + v + '"' }));
}

function validateAll(resources) {
  const fhir = new Fhir();
  return resources.map((resource) => {
    const messages = [];
    if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
      messages.push({ severity: 'fatal', location: '', message: 'not a JSON object' });
      return { messages };
    }
    jsonRuleErrors(resource, resource.resourceType || '', messages);
    let res;
    try {
      res = fhir.validate(resource, { errorOnUnexpected: true, onBeforeValidateProperty: checkInstant });
    } catch (e) {
      // FHIR.js throws on some malformed input (e.g. a string where an object belongs).
      messages.push({ severity: 'fatal', location: '', message: 'validator threw: ' + e.message });
      return { messages };
    }
    for (const m of res.messages) {
      messages.push({ severity: m.severity, location: m.location || '', message: m.message || '' });
    }
    return { messages };
  });
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  let resources;
  try {
    resources = JSON.parse(input);
  } catch (e) {
    process.stderr.write('fhir-validate: stdin is not JSON: ' + e.message + '\n');
    process.exit(2);
  }
  if (!Array.isArray(resources)) {
    process.stderr.write('fhir-validate: stdin must be a JSON array of resources\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(validateAll(resources)));
});
