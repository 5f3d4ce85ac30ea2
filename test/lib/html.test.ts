import t from 'tap'
import { escapeHtml, html, raw } from '../../lib/html.js'

t.test('every interpolated value is escaped, in text and in attributes', async (t) => {
  const attack = '"><img src=x onerror=alert(1)>\'<script>&`'
  t.equal(html`<p title="${attack}">${attack}</p>`.value,
    '<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&lt;script&gt;&amp;&#96;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&lt;script&gt;&amp;&#96;</p>')
  t.equal(escapeHtml('a & b'), 'a &amp; b')
})

t.test('nested templates and arrays of them stay markup; their values stay escaped', async (t) => {
  const items = ['<b>', 'c&d'].map((x) => html`<li>${x}</li>`)
  t.equal(html`<ul>${items}</ul>`.value, '<ul><li>&lt;b&gt;</li><li>c&amp;d</li></ul>')
  t.equal(html`${['<i>', 1]}`.value, '&lt;i&gt;1', 'plain strings in an array are escaped too')
})

t.test('false, null and undefined render nothing; numbers and true render as text', async (t) => {
  t.equal(html`[${false}${null}${undefined}${0}${true}]`.value, '[0true]')
})

t.test('raw() is the only way to markup', async (t) => {
  t.equal(html`${raw('<hr>')}${'<hr>'}`.value, '<hr>&lt;hr&gt;')
  t.equal(String(html`<a>`), '<a>')
})
