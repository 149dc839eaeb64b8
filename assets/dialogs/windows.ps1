# SyncTray's dialogs on Windows (powershell -File windows.ps1 OP TITLE ...), as linux.sh:
#   folder TITLE START | choose TITLE TEXT VALUE DESCRIPTION... | confirm TITLE TEXT OK-LABEL | message TITLE TEXT
#   entry TITLE TEXT INITIAL
# Writes the answer; exit 1 when cancelled.
param([string]$Op, [string]$Title, [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
Add-Type -AssemblyName System.Windows.Forms
switch ($Op) {
  'folder' {
    $d = New-Object System.Windows.Forms.FolderBrowserDialog
    $d.Description = $Title
    $d.SelectedPath = $Rest[0]
    if ($d.ShowDialog() -ne 'OK') { exit 1 }
    Write-Output $d.SelectedPath
  }
  'choose' {
    $form = New-Object System.Windows.Forms.Form
    $form.Text = $Title; $form.Width = 640; $form.Height = 300; $form.StartPosition = 'CenterScreen'
    $label = New-Object System.Windows.Forms.Label
    $label.Text = $Rest[0]; $label.Dock = 'Top'; $label.Height = 30
    $list = New-Object System.Windows.Forms.ListBox
    $list.Dock = 'Fill'
    for ($i = 1; $i -lt $Rest.Count; $i += 2) { [void]$list.Items.Add($Rest[$i] + ': ' + $Rest[$i + 1]) }
    $list.SelectedIndex = 0
    $ok = New-Object System.Windows.Forms.Button
    $ok.Text = 'OK'; $ok.Dock = 'Bottom'; $ok.DialogResult = 'OK'
    $form.Controls.AddRange(@($list, $label, $ok)); $form.AcceptButton = $ok
    if ($form.ShowDialog() -ne 'OK' -or $list.SelectedIndex -lt 0) { exit 1 }
    Write-Output (($list.SelectedItem -split ':')[0])
  }
  'confirm' {
    $r = [System.Windows.Forms.MessageBox]::Show($Rest[0], $Title, 'OKCancel')
    if ($r -ne 'OK') { exit 1 }
    Write-Output 'yes'
  }
  'message' { [void][System.Windows.Forms.MessageBox]::Show($Rest[0], $Title) }
  'entry' {
    Add-Type -AssemblyName Microsoft.VisualBasic
    $answer = [Microsoft.VisualBasic.Interaction]::InputBox($Rest[0], $Title, $Rest[1])
    if ($answer -eq '') { exit 1 }
    Write-Output $answer
  }
}
