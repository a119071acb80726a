import { test } from 'node:test'
import assert from 'node:assert/strict'
import { html, join, raw } from './html.js'

test('interpolations are escaped unless already Html', () => {
  const evil = `<script>alert("x")</script>&'\``
  assert.equal(html`<p title="${evil}">${evil}</p>`.value,
    '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;</p>')
  assert.equal(html`<div>${html`<b>${'<i>'}</b>`}</div>`.value, '<div><b>&lt;i&gt;</b></div>')
  assert.equal(html`${raw('<hr>')}`.value, '<hr>')
})

test('arrays join, and null, undefined and false render nothing', () => {
  assert.equal(html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value, '<ul><li>&lt;a&gt;</li><li>b</li></ul>')
  assert.equal(html`${null}${undefined}${false}${0}${true}`.value, '0true')
  assert.equal(join(['a', '<'], html`<br>`).value, 'a<br>&lt;')
})
