// What JavaScript adds to pages that work without it: the practice search as you type, and the
// copy button for the one-time code. Served as a file because the CSP allows no inline script.
'use strict'

function practiceSearch (form) {
  const input = form.querySelector('input[name="q"]')
  const list = document.getElementById('results')
  const status = document.getElementById('results-status')
  let timer
  let latest = 0

  const show = (practices, message) => {
    list.replaceChildren(...practices.map((practice) => {
      const item = document.createElement('li')
      const text = document.createElement('span')
      const name = document.createElement('span')
      name.className = 'name'
      name.textContent = practice.name
      const code = document.createElement('span')
      code.className = 'code'
      code.textContent = `Practice code ${practice.id}`
      text.append(name, code)
      const connect = document.createElement('a')
      connect.className = 'button'
      connect.href = `${form.dataset.connect}?${new URLSearchParams({ tenant: practice.id })}`
      connect.textContent = 'Connect'
      connect.setAttribute('aria-label', `Connect to ${practice.name}`)
      item.append(text, connect)
      return item
    }))
    status.textContent = message
  }

  const search = async () => {
    const query = input.value.trim()
    const mine = ++latest
    const address = new URL(window.location.href)
    if (query) address.searchParams.set('q', query)
    else address.searchParams.delete('q')
    window.history.replaceState(null, '', address)
    if (!query) return show([], '')
    try {
      const response = await fetch(`${form.dataset.api}?${new URLSearchParams({ q: query, limit: '10' })}`, { headers: { accept: 'application/json' } })
      if (mine !== latest) return
      if (response.status === 503) return show([], 'The list of practices is still loading. Try again in a minute.')
      if (!response.ok) return show([], 'That search did not work. Try other words.')
      const page = await response.json()
      if (mine !== latest) return
      show(page.items, page.total === 0
        ? 'No practice matches. Try fewer or other words, or the name of your doctor\'s office.'
        : `${page.total} ${page.total === 1 ? 'practice matches' : 'practices match'}${page.total > page.items.length ? `; showing the first ${page.items.length}` : ''}.`)
    } catch {
      if (mine === latest) show([], 'The search did not answer. Press Search to try again.')
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(search, 200)
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    clearTimeout(timer)
    search()
  })
}

function copyButton (button) {
  const target = document.getElementById(button.dataset.copyTarget)
  const status = document.getElementById(button.dataset.copyStatus)
  if (!target || !status) return
  button.hidden = false
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(target.textContent.trim())
      status.textContent = 'Copied. Now paste it into your app.'
    } catch {
      // Without clipboard access, select the code so the person can copy it by hand.
      window.getSelection().selectAllChildren(target)
      status.textContent = 'Selected. Copy it with your device\'s copy command.'
    }
  })
}

for (const form of document.querySelectorAll('form[data-practice-search]')) practiceSearch(form)
for (const button of document.querySelectorAll('button[data-copy-target]')) copyButton(button)
