Attribute VB_Name = "leadbook"
' leadbook's buttons for the classic xlwings add-in (Windows, desktop Excel).
' Import this file in the VBA editor (Alt+F11, File > Import File...), tick
' Tools > References > xlwings, then assign each macro to a button
' (Developer > Insert > Button): LeadbookCheckInputs on the Start tab,
' LeadbookRefresh on the Tiers tab. Each runs the same job as the command line.

Sub LeadbookCheckInputs()
    RunPython "import udfs.scripts as s; s.check_inputs_caller()"
End Sub

Sub LeadbookRefresh()
    RunPython "import udfs.scripts as s; s.refresh_caller()"
End Sub
